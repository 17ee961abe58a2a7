#include "train/trainer.h"

#include <unistd.h>
#include <iomanip>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "comm/grad_sync.h"
#include "comm/mpi_communicator.h"
#include "config/cli.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/run_lock.h"
#include "core/stop_signal.h"
#include "core/watchdog.h"
#include "data/device_feed.h"
#include "data/loader.h"
#include "data/sampler.h"
#include "data/shard_set.h"
#include "models/classifier.h"
#include "models/weights.h"
#include "train/checkpoint.h"
#include "train/evaluator.h"
#include "train/loss_scaler.h"
#include "train/lr_schedule.h"
#include "train/optimizer.h"
#include "train/runtime.h"
#include "train/train_step.h"
#include "wisesr/build_config.h"

namespace wisesr::train {
namespace {

namespace stdfs = std::filesystem;

std::string default_run_name(const config::Config& cfg) {
  std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", std::localtime(&now));
  return cfg.model.backbone + "-" + cfg.model.head + "-" + stamp;
}

std::string format_duration(double s) {
  const auto total = static_cast<int64_t>(std::max(0.0, s));
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%lld:%02lld:%02lld", static_cast<long long>(total / 3600),
                static_cast<long long>(total / 60 % 60), static_cast<long long>(total % 60));
  return buf;
}

// ---- checkpoint files (rank 0) ----------------------------------------------------------------

stdfs::path checkpoint_path(const stdfs::path& dir, int64_t step) {
  char name[40];
  std::snprintf(name, sizeof(name), "step-%010lld.pt", static_cast<long long>(step));
  return dir / name;
}

// step-N.pt files, newest (highest step) first.
std::vector<std::pair<int64_t, stdfs::path>> list_checkpoints(const stdfs::path& dir) {
  std::vector<std::pair<int64_t, stdfs::path>> out;
  if (!stdfs::is_directory(dir)) return out;
  static const std::regex pattern(R"(step-(\d+)\.pt)");
  for (const auto& e : stdfs::directory_iterator(dir)) {
    std::smatch m;
    const std::string name = e.path().filename().string();
    if (std::regex_match(name, m, pattern)) out.emplace_back(std::stoll(m[1].str()), e.path());
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  return out;
}

// Points <dir>/last.pt at the newest checkpoint, atomically (new symlink renamed over the old one).
void update_last_link(const stdfs::path& checkpoint) {
  const auto link = checkpoint.parent_path() / "last.pt";
  const auto tmp = fs::temp_path_for(link);
  std::error_code ec;
  stdfs::remove(tmp, ec);
  stdfs::create_symlink(checkpoint.filename(), tmp, ec);
  WISESR_CHECK(!ec, "cannot create symlink '", tmp.string(), "': ", ec.message());
  stdfs::rename(tmp, link, ec);
  WISESR_CHECK(!ec, "cannot update '", link.string(), "': ", ec.message());
}

void prune_checkpoints(const stdfs::path& dir, int keep) {
  auto all = list_checkpoints(dir);
  for (size_t i = static_cast<size_t>(keep); i < all.size(); ++i) remove_checkpoint(all[i].second);
}

// ---- run files (rank 0) -------------------------------------------------------------------------

class CsvWriter {
 public:
  CsvWriter(const stdfs::path& path, const std::string& header) : path_(path) {
    const bool fresh = !stdfs::exists(path) || stdfs::file_size(path) == 0;
    out_.open(path, std::ios::app);
    WISESR_CHECK(out_.good(), "cannot open '", path.string(), "' for writing");
    if (fresh) write(header);
  }
  void write(const std::string& line) {
    out_ << line << '\n';
    out_.flush();
    WISESR_CHECK(out_.good(), "write to '", path_.string(), "' failed (disk full?)");
  }

 private:
  stdfs::path path_;
  std::ofstream out_;
};

// Rank 0's progress display: a redrawn bar with ETA on a terminal, plain log lines otherwise.
class Progress {
 public:
  Progress(const std::string& mode, bool rank0)
      : bar_(rank0 && (mode == "bar" || (mode == "auto" && isatty(fileno(stderr))))) {}
  bool bar() const { return bar_; }
  void draw(int epoch, int epochs, int64_t s, int64_t steps, double loss, double top1, double img_s,
            double eta_s) {
    if (!bar_ || (seconds_since(last_) < 0.2 && s < steps)) return;
    last_ = Clock::now();
    constexpr int kWidth = 24;
    const int filled = steps > 0 ? static_cast<int>(kWidth * s / steps) : kWidth;
    std::string bar(static_cast<size_t>(filled), '=');
    bar.resize(kWidth, ' ');
    std::fprintf(stderr, "\r[wisesr] epoch %d/%d [%s] %lld/%lld loss %.4f top1 %.3f %.0f img/s ETA %s   ",
                 epoch, epochs, bar.c_str(), static_cast<long long>(s), static_cast<long long>(steps), loss,
                 top1, img_s, format_duration(eta_s).c_str());
    std::fflush(stderr);
    open_ = true;
  }
  void end_line() {
    if (open_) std::fputc('\n', stderr);
    open_ = false;
  }

 private:
  bool bar_;
  bool open_ = false;
  Clock::time_point last_ = Clock::now() - std::chrono::seconds(1);
};

nlohmann::json tally_json(const Tally& t) {
  return {{"loss", t.mean_loss()}, {"top1", t.top1_acc()}, {"top5", t.top5_acc()}, {"samples", t.count}};
}

// Where training continues: epochs completed, global samples consumed of the next epoch, steps done.
struct Position {
  int64_t epoch = 0;
  int64_t epoch_sample = 0;
  int64_t step = 0;
  double best_top1 = -1;
  double loss_scale = 0;
};

// Rank 0's claim on the run directory, before anything slow or any file is written: a second job on the
// same directory fails here at once, naming the holder (Note [Run lock protocol] in core/run_lock.h).
std::unique_ptr<RunLock> claim_run_dir(const stdfs::path& run_dir, const config::TrainConfig& t) {
  std::error_code ec;
  if (t.resume.empty() && stdfs::exists(run_dir, ec)) {
    const std::string holder = RunLock::describe_holder(run_dir / RunLock::kFileName);
    WISESR_THROW("run directory '", run_dir.string(), "' already exists",
                 holder.empty() ? "" : " and is in use (" + holder + ")",
                 " (choose another --train.run_name, or --train.resume auto)");
  }
  fs::ensure_dir(run_dir / "checkpoints");
  auto lock = std::make_unique<RunLock>(run_dir, t.lock_stale_s);
  const RemovedTemporaries removed = remove_stale_temporaries(run_dir);
  if (removed.files > 0)
    LOG_RANK0("removed " << removed.files << " temporary file(s) (" << std::fixed << std::setprecision(1)
                         << static_cast<double>(removed.bytes) / (1 << 20) << " MiB) that killed writers left in '"
                         << run_dir.string() << "'");
  return lock;
}

// Every rank must see the same decision at the same step: the first stop signal any rank received.
int agree_on_stop(comm::Communicator& control) {
  auto flag = torch::tensor({StopSignalScope::received()}, torch::kInt32);
  control.all_reduce(flag, comm::ReduceOp::kMax);
  return flag.item<int>();
}

void inject_fault(const config::Fault& fault, int rank, int64_t step) {
  std::fprintf(stderr, "[rank %d] wisesr: injected fault '%s' before step %lld\n", rank, fault.kind.c_str(),
               static_cast<long long>(step));
  std::fflush(stderr);
  if (fault.kind == "term") {  // as if Slurm sent SIGTERM to this rank only
    std::raise(SIGTERM);
    return;
  }
  if (fault.kind == "kill") std::raise(SIGKILL);
  if (fault.kind == "hang")
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  WISESR_THROW("injected fault before step ", step, " on rank ", rank);
}

}  // namespace

TrainResult run_train(const config::Config& cfg, const comm::ProcessGroupInfo& info) {
  const auto t_start = Clock::now();
  models::check_model_config(cfg.model);
  const config::Fault fault =
      cfg.train.fault.empty() ? config::Fault{} : config::parse_fault(cfg.train.fault);
  StopSignalScope signals;  // main installs one before MPI start-up; this one is for library callers
  const std::string run_name = cfg.train.run_name.empty() ? default_run_name(cfg) : cfg.train.run_name;
  const stdfs::path run_dir = stdfs::path(cfg.train.out_dir) / run_name;
  const stdfs::path ckpt_dir = run_dir / "checkpoints";
  const std::unique_ptr<RunLock> run_lock = info.rank == 0 ? claim_run_dir(run_dir, cfg.train) : nullptr;
  const int threads = configure_threads(cfg.train.threads, info);
  const torch::Device device = select_device(cfg.train.device, info);
  const std::string precision = resolve_precision(cfg.train.precision, device);
  const bool channels_last = cfg.train.channels_last && device.is_cuda();
  if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
  const TrainingStream training_stream(device);  // before GradSync and the first forward
  auto comm = comm::make_communicator(cfg.train.backend, info, device);
  comm::MpiCommunicator control;  // host-side agreement (stop signals) next to the gradient backend
  const bool rank0 = info.rank == 0;

  data::ShardSet train_set(cfg.data.dir, cfg.data.train_split);
  std::unique_ptr<data::ShardSet> val_set;
  if (cfg.train.eval_each_epoch && train_set.manifest().splits.count(cfg.data.val_split)) {
    val_set = std::make_unique<data::ShardSet>(cfg.data.dir, cfg.data.val_split);
    if (val_set->size() == 0) val_set.reset();
  }
  if (cfg.data.verify == "full") {  // a changed or corrupted shard is reported before training starts
    const auto t0 = Clock::now();
    uint64_t bytes = train_set.verify_checksums(info.rank, info.world_size, static_cast<size_t>(threads));
    if (val_set) bytes += val_set->verify_checksums(info.rank, info.world_size, static_cast<size_t>(threads));
    LOG_RANK0("shards match index.json (SHA-256; rank 0 hashed "
              << std::fixed << std::setprecision(2) << static_cast<double>(bytes) / (1 << 30) << " GiB in "
              << seconds_since(t0) << " s)");
  }
  const int64_t classes = static_cast<int64_t>(train_set.num_classes());
  const int image_size = cfg.data.image_size > 0 ? cfg.data.image_size : train_set.manifest().image_size;
  WISESR_CHECK(image_size > 0, "dataset '", cfg.data.dir,
               "' has variable-size images: set --data.image_size");

  const uint64_t micro = static_cast<uint64_t>(cfg.train.batch_size);
  const uint64_t accum = static_cast<uint64_t>(cfg.train.accum_steps);
  const uint64_t per_rank_step = micro * accum;  // samples a rank consumes per optimizer step
  const uint64_t global_batch = per_rank_step * static_cast<uint64_t>(info.world_size);
  const uint64_t n_train = train_set.size();
  const int64_t full_epoch_steps =
      static_cast<int64_t>(data::train_steps(n_train, info.world_size, per_rank_step));
  WISESR_CHECK(full_epoch_steps >= 1, "training split has ", n_train, " records: too few for ",
               info.world_size, " ranks x batch ", cfg.train.batch_size, " x accum_steps ",
               cfg.train.accum_steps, " (lower --train.batch_size)");

  torch::manual_seed(cfg.train.seed);
  auto model = models::make_classifier(cfg.model, classes, image_size);
  if (!cfg.model.pretrained.empty()) {
    models::load_backbone_state_dict(model->backbone(), cfg.model.pretrained);
    LOG_RANK0("backbone weights from " << cfg.model.pretrained << " (head initialised afresh)");
  }
  model->to(device);
  if (channels_last) to_channels_last(*model);
  const int64_t params = models::count_parameters(*model);

  OptimizerOptions oo;
  oo.kind = cfg.optim.optimizer;
  oo.momentum = cfg.optim.momentum;
  oo.weight_decay = cfg.optim.weight_decay;
  oo.exclude_bn_bias = cfg.optim.wd_exclude_bn_bias;
  oo.lars_eta = cfg.optim.lars_eta;
  Optimizer optimizer(*model, oo);
  LossScaler scaler(device, precision == "fp16", 65536.0);
  const LrSchedule schedule(cfg.optim, static_cast<int64_t>(global_batch), cfg.train.epochs);

  config::Config resolved = cfg;
  resolved.data.image_size = image_size;
  resolved.train.precision = precision;
  resolved.train.run_name = run_name;

  // ---- resume: rank 0 finds and reads the checkpoint, every rank receives it by broadcast ----
  Position pos;
  int64_t resumed_from = -1;
  stdfs::path resumed_path;
  if (rank0 && !cfg.train.resume.empty()) {
    std::vector<stdfs::path> candidates;
    if (cfg.train.resume == "auto") {
      for (const auto& c : list_checkpoints(ckpt_dir)) candidates.push_back(c.second);
    } else {
      candidates.push_back(cfg.train.resume);
    }
    for (size_t i = 0; i < candidates.size() && resumed_from < 0; ++i) {
      std::unique_ptr<CheckpointReader> reader;
      try {
        verify_checkpoint_file(candidates[i]);
        reader = std::make_unique<CheckpointReader>(candidates[i]);
      } catch (const Error& e) {
        if (cfg.train.resume != "auto") throw;
        LOG_WARN("skipping checkpoint: " << e.message() << "; trying the previous one");
        continue;
      }
      WISESR_CHECK(reader->meta().class_names == train_set.manifest().classes, "checkpoint '",
                   candidates[i].string(), "' was trained on other classes than '", cfg.data.dir, "'");
      reader->load_model(*model);  // a model that does not fit is an error, not a reason to fall back
      reader->load_optimizer(optimizer);
      const auto& m = reader->meta();
      pos = {m.epoch, m.epoch_sample, m.step, m.best_top1, m.loss_scale};
      resumed_from = m.step;
      resumed_path = candidates[i];
      LOG_RANK0("resuming from " << candidates[i].string() << ": step " << m.step << ", epoch " << m.epoch + 1
                                 << ", sample " << m.epoch_sample << " of it (written by " << m.world_size
                                 << " rank(s); now " << info.world_size << ")");
    }
    if (cfg.train.resume == "auto" && resumed_from < 0) {
      WISESR_CHECK(candidates.empty(), "--train.resume auto: no readable checkpoint among ",
                   candidates.size(), " in '", ckpt_dir.string(), "'");
      LOG_RANK0("--train.resume auto: no checkpoint in '" << ckpt_dir.string() << "', starting afresh");
    }
  }
  {
    auto state = torch::tensor({resumed_from, pos.epoch, pos.epoch_sample, pos.step}, torch::kInt64);
    auto real = torch::tensor({pos.best_top1, pos.loss_scale}, torch::kDouble);
    comm->broadcast(state, 0);
    comm->broadcast(real, 0);
    resumed_from = state[0].item<int64_t>();
    pos = {state[1].item<int64_t>(), state[2].item<int64_t>(), state[3].item<int64_t>(),
           real[0].item<double>(), real[1].item<double>()};
  }
  comm::broadcast_module(*model, *comm);  // identical replicas, whatever each rank's RNG or disk did
  if (resumed_from >= 0) {
    for (auto& b : optimizer.momentum_buffers()) comm->broadcast(b, 0);
    scaler.set(pos.loss_scale);
  }
  comm::GradSyncOptions so;
  so.bucket_bytes = static_cast<size_t>(cfg.train.bucket_mb * (1 << 20));
  so.first_bucket_bytes = static_cast<size_t>(cfg.train.first_bucket_mb * (1 << 20));
  so.check_collectives = cfg.train.check_collectives;
  so.check_comm = &control;  // host-side, like the stop-signal agreement
  comm::GradSync sync(model->parameters(), *comm, so);
  TrainStepOptions to;
  to.precision = precision;
  to.channels_last = channels_last;
  to.accum_steps = cfg.train.accum_steps;
  to.label_smoothing = cfg.optim.label_smoothing;
  to.clip_grad_norm = cfg.optim.clip_grad_norm;
  to.cuda_graph = cfg.train.cuda_graph;
  to.backend = info.world_size > 1 ? comm->name() : "none";  // one rank: GradSync issues no collectives
  to.seed = cfg.train.seed;
  to.rank = info.rank;
  TrainStep train_step(model, optimizer, scaler, &sync, device, to);
  // Held for the run: the nvJPEG decoder (if any) is created and self-checked once, and the
  // evaluator's loaders share it.
  const data::DecodePlan decode_plan = data::plan_decode(cfg.data.decode, device, train_set.manifest().storage);

  std::unique_ptr<JsonlWriter> metrics;
  std::unique_ptr<CsvWriter> csv;
  if (rank0) {
    fs::write_file_atomic(run_dir / "config.ini", config::to_ini(resolved));
    metrics = std::make_unique<JsonlWriter>(run_dir / "metrics.jsonl");
    csv = std::make_unique<CsvWriter>(
        run_dir / "epochs.csv",
        "epoch,step,lr,train_loss,train_top1,train_top5,val_loss,val_top1,val_top5,"
        "img_per_s,data_wait_frac,seconds,peak_mem_gib,complete");
    LOG_RANK0("wisesr " << WISESR_VERSION << ": " << info.world_size << " rank(s), device " << device.str()
                        << ", backend " << comm->name() << ", " << precision
                        << (channels_last ? ", channels_last" : "") << ", " << threads
                        << " thread(s)/rank, decode " << decode_plan.describe() << ", steps "
                        << train_step.describe());
    LOG_RANK0("resolved config:\n" << config::to_ini(resolved));
    LOG_RANK0("model " << cfg.model.backbone << "+" << cfg.model.head << ": " << params << " parameters, "
                       << classes << " classes, input " << image_size << "x" << image_size << "; " << n_train
                       << " train records, " << full_epoch_steps << " steps/epoch, global batch "
                       << global_batch << " (" << cfg.train.batch_size << " x " << info.world_size
                       << " ranks x " << cfg.train.accum_steps << " accumulation), peak lr "
                       << schedule.peak() << ", " << sync.num_buckets() << " gradient bucket(s)");
    LOG_RANK0("run directory: " << run_dir.string());
  }

  TrainResult result;
  result.run_dir = run_dir;
  result.params = params;
  result.resumed_from_step = resumed_from;
  int64_t step = pos.step;
  int64_t last_saved = resumed_from;
  const int workers = cfg.data.workers > 0 ? cfg.data.workers : std::max(0, threads - 1);
  Progress progress(cfg.train.progress, rank0);
  Watchdog::Options wo;
  wo.timeout_s = cfg.train.timeout_s;
  wo.startup_timeout_s = cfg.train.startup_timeout_s;
  wo.heartbeat_dir = run_dir / ".heartbeats";  // Note [Watchdog heartbeats] in core/watchdog.h
  Watchdog watchdog(wo, info.rank, info.world_size, [c = comm.get()] { return c->poll_error(); });
  const auto t_loop = Clock::now();
  const int64_t step_at_loop = step;
  auto bad_records = std::make_shared<std::atomic<int64_t>>(0);  // corrupt records skipped, all epochs
  const auto train_transform =
      std::make_shared<data::BatchTransform>(augment_options(cfg.data), /*train=*/true, image_size);

  auto save = [&](const Position& p, const char* why) {
    comm::broadcast_buffers(*model, *comm);  // BN statistics: rank 0's, as after an epoch, on every rank
    watchdog.beat("checkpoint");
    if (rank0) {
      CheckpointMeta meta;
      meta.config_ini = config::to_ini(resolved);
      meta.class_names = train_set.manifest().classes;
      meta.image_size = image_size;
      meta.epoch = p.epoch;
      meta.step = p.step;
      meta.tool_version = WISESR_VERSION;
      meta.epoch_sample = p.epoch_sample;
      meta.best_top1 = p.best_top1;
      meta.loss_scale = scaler.enabled() ? scaler.value() : 0.0;
      meta.world_size = info.world_size;
      result.checkpoint = checkpoint_path(ckpt_dir, p.step);
      std::function<void()> before_commit;
      if (fault.kind == "slowsave" && fault.rank == info.rank)
        before_commit = [&] { std::this_thread::sleep_for(std::chrono::seconds(fault.step)); };
      save_checkpoint(result.checkpoint, *model, &optimizer, meta, before_commit);
      update_last_link(result.checkpoint);
      prune_checkpoints(ckpt_dir, cfg.train.keep_checkpoints);
      LOG_DEBUG("checkpoint (" << why << "): " << result.checkpoint.string());
    }
    last_saved = p.step;
    watchdog.beat("checkpoint written");
  };

  std::string status = "completed";
  bool stop = cfg.train.max_steps > 0 && step >= cfg.train.max_steps;
  if (rank0 && resumed_from >= 0) result.checkpoint = resumed_path;
  // A stop requested during start-up (checksums, model build) ends the run before its first step; the
  // checkpoint it resumed from (if any) is where the next run continues.
  if (const int signal = agree_on_stop(control); signal != 0) {
    LOG_RANK0("signal " << signal << " (" << StopSignalScope::describe(signal)
                        << ") before the first step: stopping without training");
    result.preempted = true;
    status = "preempted";
    stop = true;
  }
  for (int epoch = static_cast<int>(pos.epoch); epoch < cfg.train.epochs && !stop; ++epoch) {
    const uint64_t start = epoch == pos.epoch ? static_cast<uint64_t>(pos.epoch_sample) : 0;
    const int64_t steps =
        static_cast<int64_t>(data::train_steps(n_train, info.world_size, per_rank_step, start));
    const auto t_epoch = Clock::now();
    data::LoaderOptions lo;
    lo.batch_size = cfg.train.batch_size;
    lo.workers = workers;
    lo.prefetch = cfg.data.prefetch;
    lo.drop_last = true;
    lo.transform = train_transform;
    data::configure_for_device(lo, device, decode_plan);
    lo.random_crop = true;
    lo.seed = cfg.train.seed;
    lo.epoch = static_cast<uint64_t>(epoch);
    lo.max_bad_records = cfg.data.max_bad_records;
    lo.bad_records = bad_records;
    data::Loader loader(train_set,
                        data::train_indices(n_train, cfg.train.seed, static_cast<uint64_t>(epoch), info.rank,
                                            info.world_size, per_rank_step, start),
                        lo);
    data::DeviceFeed feed(loader, device);
    model->train();
    Tally epoch_tally;
    auto t_window = Clock::now();
    double data_wait = 0, epoch_wait = 0;
    int64_t window_steps = 0, s = 0;
    double lr = 0;
    for (; s < steps; ++s) {
      if (fault.rank == info.rank && fault.step == step + 1 && fault.kind != "slowsave")
        inject_fault(fault, info.rank, step + 1);
      const double t = epoch + static_cast<double>(start + static_cast<uint64_t>(s) * global_batch) /
                                   static_cast<double>(n_train);
      lr = schedule.at(t);
      data_wait += train_step.run(step, lr, [&] {
        auto batch = feed.next();
        WISESR_CHECK(batch.has_value(), "loader ended early at step ", s, " of epoch ", epoch + 1);
        return std::move(*batch);
      });
      ++step;
      ++window_steps;
      watchdog.beat("training step", step);

      const int signal = agree_on_stop(control);
      const bool hit_max = cfg.train.max_steps > 0 && step >= cfg.train.max_steps;
      const bool last = s + 1 == steps || hit_max || signal != 0;
      if (step % cfg.train.log_every == 0 || last || progress.bar()) {
        const bool log_now = step % cfg.train.log_every == 0 || last;
        if (log_now) {
          Tally r = train_step.tally().take().reduced(*comm);  // collective: same steps on every rank
          WISESR_CHECK(std::isfinite(r.loss_sum), "loss is not finite at step ", step, " (epoch ", epoch + 1,
                       "); lower --optim.lr");
          const double secs = seconds_since(t_window);
          const double img_s = secs > 0 ? r.count / secs : 0;
          const double step_time = window_steps > 0 ? secs / static_cast<double>(window_steps) : 0;
          const double mem_gib = static_cast<double>(peak_memory_bytes(device)) / (1 << 30);
          if (rank0) {
            metrics->write(nlohmann::json({{"kind", "train"},
                                           {"epoch", epoch + 1},
                                           {"step", step},
                                           {"loss", r.mean_loss()},
                                           {"top1", r.top1_acc()},
                                           {"top5", r.top5_acc()},
                                           {"lr", lr},
                                           {"img_per_s", img_s},
                                           {"step_time_s", step_time},
                                           {"data_wait_s", data_wait},
                                           {"data_wait_frac", secs > 0 ? data_wait / secs : 0},
                                           {"peak_mem_gib", mem_gib}})
                               .dump());
          }
          const double run_steps = static_cast<double>(step - step_at_loop);
          const double per_step = run_steps > 0 ? seconds_since(t_loop) / run_steps : 0;
          const double remaining =
              static_cast<double>(steps - s - 1) +
              static_cast<double>(cfg.train.epochs - epoch - 1) * static_cast<double>(full_epoch_steps);
          if (progress.bar()) {
            progress.draw(epoch + 1, cfg.train.epochs, s + 1, steps, r.mean_loss(), r.top1_acc(), img_s,
                          remaining * per_step);
          } else {
            LOG_RANK0("epoch " << epoch + 1 << "/" << cfg.train.epochs << " step " << s + 1 << "/" << steps
                               << " loss " << r.mean_loss() << " top1 " << r.top1_acc() << " lr " << lr << " "
                               << static_cast<int64_t>(img_s) << " img/s, data wait "
                               << static_cast<int>(100 * (secs > 0 ? data_wait / secs : 0)) << "%, ETA "
                               << format_duration(remaining * per_step));
          }
          epoch_tally += r;
          epoch_wait += data_wait;
          data_wait = 0;
          window_steps = 0;
          t_window = Clock::now();
        }
      }
      if (signal != 0) {
        progress.end_line();
        LOG_RANK0("signal " << signal << " (" << StopSignalScope::describe(signal) << "): checkpointing at step "
                            << step << " and stopping");
        result.preempted = true;
        status = "preempted";
        stop = true;
        ++s;
        break;
      }
      if (hit_max) {
        status = "max_steps";
        stop = true;
        ++s;
        break;
      }
      if (cfg.train.checkpoint_every > 0 && step % cfg.train.checkpoint_every == 0 && s + 1 < steps) {
        save({epoch, static_cast<int64_t>(start + static_cast<uint64_t>(s + 1) * global_batch), step,
              pos.best_top1, 0},
             "periodic");
      }
    }
    progress.end_line();
    const bool epoch_done = s >= steps;
    result.train = epoch_tally;
    comm::broadcast_buffers(*model, *comm);
    const double epoch_secs = seconds_since(t_epoch);
    nlohmann::json epoch_json = {{"kind", "epoch"},        {"epoch", epoch + 1},
                                 {"step", step},           {"lr", lr},
                                 {"complete", epoch_done}, {"train", tally_json(epoch_tally)},
                                 {"seconds", epoch_secs}};
    bool improved = false;
    if (val_set && !result.preempted) {
      EvalOptions eo;
      eo.batch_size = cfg.train.batch_size;
      eo.image_size = image_size;
      eo.workers = workers;
      eo.prefetch = cfg.data.prefetch;
      eo.normalize = cfg.data.normalize;
      eo.decode = cfg.data.decode;
      eo.max_bad_records = cfg.data.max_bad_records;
      eo.on_batch = [&watchdog] { watchdog.beat("evaluation"); };
      result.val = evaluate(model, *val_set, *comm, device, eo);
      epoch_json["val"] = tally_json(result.val);
      improved = result.val.top1_acc() > pos.best_top1;
      if (improved) pos.best_top1 = result.val.top1_acc();
      LOG_RANK0("epoch " << epoch + 1 << " validation: top1 " << result.val.top1_acc() << " top5 "
                         << result.val.top5_acc() << " loss " << result.val.mean_loss() << " ("
                         << static_cast<int64_t>(result.val.count) << " samples)");
    }
    if (rank0) {
      metrics->write(epoch_json.dump());
      const double img_s = epoch_secs > 0 ? epoch_tally.count / epoch_secs : 0;
      char row[512];
      std::snprintf(row, sizeof(row), "%d,%lld,%.6g,%.6f,%.6f,%.6f,%s,%s,%s,%.1f,%.4f,%.1f,%.3f,%d",
                    epoch + 1, static_cast<long long>(step), lr, epoch_tally.mean_loss(),
                    epoch_tally.top1_acc(), epoch_tally.top5_acc(),
                    result.val.count > 0 ? std::to_string(result.val.mean_loss()).c_str() : "",
                    result.val.count > 0 ? std::to_string(result.val.top1_acc()).c_str() : "",
                    result.val.count > 0 ? std::to_string(result.val.top5_acc()).c_str() : "", img_s,
                    epoch_secs > 0 ? epoch_wait / epoch_secs : 0.0, epoch_secs,
                    static_cast<double>(peak_memory_bytes(device)) / (1 << 30), epoch_done ? 1 : 0);
      csv->write(row);
    }
    const Position here{
        epoch_done ? epoch + 1 : epoch,
        epoch_done ? 0 : static_cast<int64_t>(start + static_cast<uint64_t>(s) * global_batch), step,
        pos.best_top1, 0};
    if (last_saved != step) save(here, epoch_done ? "epoch end" : status.c_str());
    if (rank0 && improved && !result.checkpoint.empty())
      alias_checkpoint(result.checkpoint, ckpt_dir / "best.pt");
  }
  result.steps = step;
  result.seconds = seconds_since(t_start);
  result.cuda_graph = train_step.graphed();
  if (rank0) {
    nlohmann::json summary = {{"backbone", cfg.model.backbone},
                              {"head", cfg.model.head},
                              {"params", params},
                              {"ranks", info.world_size},
                              {"global_batch", global_batch},
                              {"steps", step},
                              {"status", status},
                              {"steps_run_as", train_step.describe()},
                              {"resumed_from_step", resumed_from},
                              {"train_seconds", result.seconds},
                              {"checkpoint", result.checkpoint.string()},
                              {"train", tally_json(result.train)}};
    if (result.val.count > 0) summary["val"] = tally_json(result.val);
    if (pos.best_top1 >= 0) summary["best_val_top1"] = pos.best_top1;
    fs::write_file_atomic(run_dir / "summary.json", summary.dump(2) + "\n");
    if (!cfg.train.status_file.empty())
      fs::write_file_atomic(cfg.train.status_file,
                            status + " " + std::to_string(result.preempted ? cfg.train.preempt_exit_code : 0) +
                                "\n");
    LOG_RANK0((result.preempted ? "preempted: " : "done: ")
              << step << " steps in " << result.seconds << " s; checkpoint " << result.checkpoint.string()
              << (result.preempted ? " (continue with --train.resume auto)" : ""));
  }
  return result;
}

}  // namespace wisesr::train
