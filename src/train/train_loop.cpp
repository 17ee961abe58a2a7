#include "train/train_loop.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <iomanip>
#include <memory>
#include <thread>

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
#include "train/checkpoint.h"
#include "train/evaluator.h"
#include "train/lr_schedule.h"
#include "train/resume_check.h"
#include "train/run_reporter.h"
#include "train/tensorboard_reporter.h"
#include "train/trainer.h"
#include "wisesr/build_config.h"

namespace wisesr::train {
namespace {

namespace stdfs = std::filesystem;

std::string default_run_name(const models::ModelOptions& model) {
  std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", std::localtime(&now));
  return model.backbone + "-" + model.head + "-" + stamp;
}

// Rank 0's claim on the run directory, before anything slow or any file is written: a second job on the
// same directory fails here at once, naming the holder (Note [Run lock protocol] in core/run_lock.h).
// A run directory in which something was trained: a checkpoint or a summary. One without (a start that
// failed before its first checkpoint) may be started in again without --train.resume.
bool holds_a_run(const stdfs::path& run_dir) {
  std::error_code ec;
  if (stdfs::exists(run_dir / "summary.json", ec)) return true;
  for (stdfs::directory_iterator it(run_dir / "checkpoints", ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".pt") return true;
  return false;
}

std::unique_ptr<RunLock> claim_run_dir(const stdfs::path& run_dir, const RunOptions& t) {
  std::error_code ec;
  if (t.resume.empty() && stdfs::exists(run_dir, ec) && holds_a_run(run_dir)) {
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
                         << static_cast<double>(removed.bytes) / (1 << 20)
                         << " MiB) that killed writers left in '" << run_dir.string() << "'");
  return lock;
}

// Every rank must see the same decision at the same step: the first stop signal any rank received.
int agree_on_stop(comm::Communicator& control) {
  auto flag = torch::tensor({StopSignalScope::received()}, torch::kInt32);
  control.all_reduce(flag, comm::ReduceOp::kMax);
  return flag.item<int>();
}

void inject_fault(const Fault& fault, int rank, int64_t step) {
  std::fprintf(stderr, "[rank %d] wisesr: injected fault '%s' before step %lld\n", rank,
               to_string(fault.kind).c_str(), static_cast<long long>(step));
  std::fflush(stderr);
  if (fault.kind == FaultKind::kTerm) {  // as if Slurm sent SIGTERM to this rank only
    std::raise(SIGTERM);
    return;
  }
  if (fault.kind == FaultKind::kKill) std::raise(SIGKILL);
  if (fault.kind == FaultKind::kHang)
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  WISESR_THROW("injected fault before step ", step, " on rank ", rank);
}

std::unique_ptr<data::ShardSet> open_val_set(const config::Config& cfg, const data::ShardSet& train_set) {
  data::check_trainable(train_set);  // before the image size, the epoch's steps and the model
  if (!cfg.train.eval_each_epoch) return nullptr;
  auto val = std::make_unique<data::ShardSet>(cfg.data.dir, cfg.data.val_split);
  if (val->size() == 0) val.reset();
  return val;
}

int resolve_image_size(const data::DataOptions& d, const data::ShardSet& train_set) {
  const int size = d.image_size > 0 ? d.image_size : train_set.manifest().image_size;
  WISESR_CHECK(size > 0, "dataset '", d.dir, "' has variable-size images: set --data.image_size");
  return size;
}

// How the records of an epoch divide into optimizer steps.
struct Batches {
  uint64_t per_rank_step = 0;  // samples a rank consumes per optimizer step (batch x accumulation)
  uint64_t global = 0;         // samples all ranks consume per optimizer step
  uint64_t records = 0;        // in the training split
  int64_t epoch_steps = 0;     // optimizer steps of a whole epoch
};

Batches divide_epoch(const RunOptions& t, const comm::ProcessGroupInfo& info,
                     const data::ShardSet& train_set) {
  Batches b;
  b.per_rank_step = static_cast<uint64_t>(t.batch_size) * static_cast<uint64_t>(t.accum_steps);
  b.global = b.per_rank_step * static_cast<uint64_t>(info.world_size);
  b.records = train_set.size();
  b.epoch_steps = static_cast<int64_t>(data::train_steps(b.records, info.world_size, b.per_rank_step));
  WISESR_CHECK(b.epoch_steps >= 1, "training split has ", b.records, " records: too few for ",
               info.world_size, " ranks x batch ", t.batch_size, " x accum_steps ", t.accum_steps,
               " (lower --train.batch_size)");
  return b;
}

TrainerOptions trainer_options(const config::Config& cfg) {
  TrainerOptions o;
  o.runtime = cfg.runtime;
  o.comm = cfg.comm;
  o.model = cfg.model;
  o.optim = cfg.optim;
  o.accum_steps = cfg.train.accum_steps;
  o.seed = cfg.train.seed;
  return o;
}

// Where training continues: epochs completed, global samples consumed of the next epoch, steps done.
struct Position {
  int64_t epoch = 0;
  int64_t epoch_sample = 0;
  int64_t step = 0;
  double best_top1 = -1;
  double loss_scale = 0;
};

// The epoch being trained: where it started, how far it got, and its metrics so far.
struct Epoch {
  int index = 0;             // 0-based
  uint64_t start = 0;        // global samples of it consumed before it began (a mid-epoch resume)
  int64_t steps = 0;         // optimizer steps from there to its end
  int64_t done = 0;          // of them, run
  double lr = 0;             // at the latest step
  Tally tally;               // the windows reported so far, reduced over ranks
  double data_wait_s = 0;    // of those windows (this rank's)
  double window_wait_s = 0;  // of the current window
  int64_t window_steps = 0;
  Clock::time_point started, window_started;
  double seconds = 0;  // training time, without the evaluation
  std::optional<Tally> val;
  bool improved = false;  // validation top-1 beat the best so far
  bool complete() const { return done >= steps; }
};

class TrainingRun {
 public:
  TrainingRun(const config::Config& cfg, const comm::ProcessGroupInfo& info);
  void resume_or_start();
  bool next_epoch();
  void train_epoch();
  void evaluate();
  void checkpoint();
  TrainResult finish();

 private:
  void verify_shards() const;
  void log_start() const;
  void load_checkpoint();                                                               // rank 0
  void check_same_experiment(const CheckpointReader& reader, const stdfs::path& path);  // rank 0
  void broadcast_position();
  bool train_one_step(data::DeviceFeed& feed);
  void report_window(bool last);
  void report_epoch();
  void stop(const char* status) {
    status_ = status;
    stop_ = true;
  }
  void save(const Position& p, const std::string& why);
  data::LoaderOptions loader_options() const;
  double fractional_epoch() const {
    return epoch_.index +
           static_cast<double>(samples_done(epoch_.done)) / static_cast<double>(batches_.records);
  }
  uint64_t samples_done(int64_t steps) const {
    return epoch_.start + static_cast<uint64_t>(steps) * batches_.global;
  }

  const config::Config& cfg_;
  const comm::ProcessGroupInfo info_;
  const bool rank0_;
  const Clock::time_point started_ = Clock::now();
  const Fault fault_;
  const StopSignalScope signals_;  // main installs one before MPI start-up; this one is for library callers
  const std::string run_name_;
  const stdfs::path run_dir_;
  // The dataset is checked (splits, classes, batches) before the run directory is claimed, so that a
  // bad dataset leaves no run directory behind.
  const data::ShardSet train_set_;
  const std::unique_ptr<data::ShardSet> val_set_;
  const int image_size_;
  const Batches batches_;
  const std::unique_ptr<RunLock> run_lock_;  // rank 0
  Trainer trainer_;
  const LrSchedule schedule_;
  const std::string config_ini_;  // the resolved configuration
  const CheckpointDirectory checkpoints_;
  const data::DecodePlan decode_plan_;  // one nvJPEG decoder (if any) for training and evaluation
  const int workers_;
  const std::shared_ptr<const data::BatchTransform> train_transform_;
  const std::shared_ptr<std::atomic<int64_t>> bad_records_ = std::make_shared<std::atomic<int64_t>>(0);
  Reporters reporters_;                 // rank 0's
  std::unique_ptr<Watchdog> watchdog_;  // from resume_or_start on

  Position pos_;
  int64_t resumed_from_ = -1;
  stdfs::path resumed_path_;
  std::vector<std::string> changes_;  // settings this resume changed (ConfigChange::describe)
  bool forced_ = false;               // --train.resume_force overrode a refused change
  int64_t step_ = 0;
  int64_t last_saved_ = -1;
  int next_epoch_ = 0;
  Epoch epoch_;
  Clock::time_point loop_started_;
  int64_t loop_first_step_ = 0;
  std::string status_ = "completed";
  bool stop_ = false;
  TrainResult result_;
};

config::Config resolved(config::Config cfg, const std::string& run_name, int image_size,
                        Precision precision) {
  cfg.data.image_size = image_size;
  cfg.runtime.precision = precision;
  cfg.train.run_name = run_name;
  return cfg;
}

TrainingRun::TrainingRun(const config::Config& cfg, const comm::ProcessGroupInfo& info)
    : cfg_(cfg),
      info_(info),
      rank0_(info.rank == 0),
      fault_(parse_fault(cfg.train.fault)),
      run_name_(cfg.train.run_name.empty() ? default_run_name(cfg.model) : cfg.train.run_name),
      run_dir_(stdfs::path(cfg.train.out_dir) / run_name_),
      train_set_(cfg.data.dir, cfg.data.train_split),
      val_set_(open_val_set(cfg, train_set_)),
      image_size_(resolve_image_size(cfg.data, train_set_)),
      batches_(divide_epoch(cfg.train, info, train_set_)),
      run_lock_(rank0_ ? claim_run_dir(run_dir_, cfg.train) : nullptr),
      trainer_(trainer_options(cfg), info, static_cast<int64_t>(train_set_.num_classes()), image_size_),
      schedule_(cfg.schedule, static_cast<int64_t>(batches_.global), cfg.train.epochs),
      config_ini_(config::to_ini(resolved(cfg, run_name_, image_size_, trainer_.precision()))),
      checkpoints_(run_dir_ / "checkpoints", cfg.train.keep_checkpoints),
      decode_plan_(data::plan_decode(cfg.data.decode, trainer_.device(), train_set_.manifest().storage)),
      workers_(cfg.data.workers > 0 ? cfg.data.workers : std::max(0, trainer_.threads() - 1)),
      train_transform_(std::make_shared<data::BatchTransform>(cfg.augment, /*train=*/true, image_size_)) {
  verify_shards();
  log_start();
  result_.run_dir = run_dir_;
  result_.params = trainer_.parameters();
}

// A changed or corrupted shard is reported before training starts (sizes and counts are checked anyway).
void TrainingRun::verify_shards() const {
  if (cfg_.data.verify != data::Verify::kFull) return;
  const auto t0 = Clock::now();
  const auto threads = static_cast<size_t>(trainer_.threads());
  uint64_t bytes = train_set_.verify_checksums(info_.rank, info_.world_size, threads);
  if (val_set_) bytes += val_set_->verify_checksums(info_.rank, info_.world_size, threads);
  LOG_RANK0("shards match index.json (SHA-256; rank 0 hashed "
            << std::fixed << std::setprecision(2) << static_cast<double>(bytes) / (1 << 30) << " GiB in "
            << seconds_since(t0) << " s)");
}

void TrainingRun::log_start() const {
  LOG_RANK0("wisesr " << WISESR_VERSION << ": " << trainer_.describe() << ", decode "
                      << decode_plan_.describe() << ", steps " << trainer_.step().describe());
  LOG_RANK0("resolved config:\n" << config_ini_);
  const auto* sync = trainer_.grad_sync();
  LOG_RANK0("model " << cfg_.model.backbone << "+" << cfg_.model.head << ": " << trainer_.parameters()
                     << " parameters, " << train_set_.num_classes() << " classes, input " << image_size_
                     << "x" << image_size_ << "; " << batches_.records << " train records, "
                     << batches_.epoch_steps << " steps/epoch, global batch " << batches_.global << " ("
                     << cfg_.train.batch_size << " x " << info_.world_size << " ranks x "
                     << cfg_.train.accum_steps << " accumulation), peak lr " << schedule_.peak() << ", "
                     << (sync ? sync->num_buckets() : 0) << " gradient bucket(s)");
  LOG_RANK0("run directory: " << run_dir_.string());
}

// ---- resume --------------------------------------------------------------------------------------

// Rank 0 finds and reads the checkpoint (with auto: the newest that passes its checksum).
void TrainingRun::load_checkpoint() {
  const std::string& resume = cfg_.train.resume;
  std::vector<stdfs::path> candidates;
  if (resume == "auto") {
    for (const auto& c : checkpoints_.list()) candidates.push_back(c.second);
  } else {
    candidates.push_back(resume);
  }
  for (size_t i = 0; i < candidates.size() && resumed_from_ < 0; ++i) {
    std::unique_ptr<CheckpointReader> reader;
    try {
      verify_checkpoint_file(candidates[i]);
      reader = std::make_unique<CheckpointReader>(candidates[i]);
    } catch (const Error& e) {
      if (resume != "auto") throw;
      LOG_WARN("skipping checkpoint: " << e.message() << "; trying the previous one");
      continue;
    }
    WISESR_CHECK(reader->meta().class_names == train_set_.manifest().classes, "checkpoint '",
                 candidates[i].string(), "' was trained on other classes than '", cfg_.data.dir, "'");
    check_same_experiment(*reader, candidates[i]);
    reader->load_model(
        *trainer_.model());  // a model that does not fit is an error, not a reason to fall back
    reader->load_optimizer(trainer_.optimizer());
    const auto& m = reader->meta();
    pos_ = {m.epoch, m.epoch_sample, m.step, m.best_top1, m.loss_scale};
    resumed_from_ = m.step;
    resumed_path_ = candidates[i];
    LOG_RANK0("resuming from " << candidates[i].string() << ": step " << m.step << ", epoch " << m.epoch + 1
                               << ", sample " << m.epoch_sample << " of it (written by " << m.world_size
                               << " rank(s); now " << info_.world_size << ")");
  }
  if (resume == "auto" && resumed_from_ < 0) {
    WISESR_CHECK(candidates.empty(), "--train.resume auto: no readable checkpoint among ", candidates.size(),
                 " in '", checkpoints_.dir().string(), "'");
    LOG_RANK0("--train.resume auto: no checkpoint in '" << checkpoints_.dir().string()
                                                        << "', starting afresh");
  }
}

// Note [What a resume may change] (train/resume_check.h). A refused resume is an error (not a reason to
// try an older checkpoint: they all belong to the same run).
void TrainingRun::check_same_experiment(const CheckpointReader& reader, const stdfs::path& path) {
  const ResumeCheck check =
      check_resume(reader.meta().config_ini, config_ini_, reader.meta().world_size, info_.world_size);
  std::string refused;
  for (const auto& c : check.refused) refused += (refused.empty() ? "" : "; ") + c.describe();
  if (!check.refused.empty() && !cfg_.train.resume_force)
    WISESR_THROW("checkpoint '", path.string(), "' is another experiment: ", refused,
                 " (resume with the checkpoint's settings, start a new --train.run_name, or "
                 "--train.resume_force to continue anyway)");
  changes_.clear();
  for (const auto& c : check.allowed) changes_.push_back(c.describe());
  for (const auto& c : check.refused) changes_.push_back(c.describe() + " (forced)");
  forced_ = !check.refused.empty();
  if (forced_)
    LOG_WARN(
        "--train.resume_force: resuming although settings that define the experiment changed: " << refused);
  for (const auto& c : check.allowed) LOG_RANK0("resume changes " << c.describe());
}

void TrainingRun::broadcast_position() {
  auto state = torch::tensor({resumed_from_, pos_.epoch, pos_.epoch_sample, pos_.step}, torch::kInt64);
  auto real = torch::tensor({pos_.best_top1, pos_.loss_scale}, torch::kDouble);
  trainer_.comm()->broadcast(state, 0);
  trainer_.comm()->broadcast(real, 0);
  resumed_from_ = state[0].item<int64_t>();
  pos_ = {state[1].item<int64_t>(), state[2].item<int64_t>(), state[3].item<int64_t>(),
          real[0].item<double>(), real[1].item<double>()};
}

void TrainingRun::resume_or_start() {
  if (rank0_ && !cfg_.train.resume.empty()) load_checkpoint();
  if (rank0_) {  // after the checkpoint was read: the run files record what this start resumed and changed
    RunStart start{config_ini_, resumed_from_, resumed_path_, changes_, forced_};
    reporters_.add(std::make_unique<RunFilesReporter>(run_dir_, start, cfg_.train.status_file));
    reporters_.add(std::make_unique<ConsoleReporter>(cfg_.train.progress));
    if (cfg_.train.tensorboard) reporters_.add(make_tensorboard_reporter(run_dir_, start));
    if (resumed_from_ >= 0 && pos_.epoch >= cfg_.train.epochs)
      LOG_RANK0("the checkpoint has "
                << pos_.epoch << " epoch(s) done of --train.epochs " << cfg_.train.epochs
                << ": nothing left to train; the run stays complete at step " << pos_.step
                << " (raise --train.epochs to train longer)");
  }
  broadcast_position();
  trainer_.broadcast_state(/*resumed=*/resumed_from_ >= 0, pos_.loss_scale);
  result_.resumed_from_step = resumed_from_;
  if (rank0_ && resumed_from_ >= 0) result_.checkpoint = resumed_path_;
  step_ = loop_first_step_ = pos_.step;
  last_saved_ = resumed_from_;
  next_epoch_ = static_cast<int>(pos_.epoch);
  comm::Communicator* comm = trainer_.comm();
  Watchdog::Options wo;
  wo.timeout_s = cfg_.train.timeout_s;
  wo.startup_timeout_s = cfg_.train.startup_timeout_s;
  wo.heartbeat_dir = run_dir_ / ".heartbeats";  // Note [Watchdog heartbeats] in core/watchdog.h
  watchdog_ =
      std::make_unique<Watchdog>(wo, info_.rank, info_.world_size, [comm] { return comm->poll_error(); });
  loop_started_ = Clock::now();
  stop_ = cfg_.train.max_steps > 0 && step_ >= cfg_.train.max_steps;
  // A stop requested during start-up (checksums, model build) ends the run before its first step; the
  // checkpoint it resumed from (if any) is where the next run continues.
  if (const int signal = agree_on_stop(trainer_.control()); signal != 0) {
    reporters_.on_stop(signal, step_, /*before_first_step=*/true);
    result_.preempted = true;
    stop("preempted");
  }
}

// ---- one epoch -----------------------------------------------------------------------------------

bool TrainingRun::next_epoch() {
  if (stop_ || next_epoch_ >= cfg_.train.epochs) return false;
  epoch_ = Epoch{};
  epoch_.index = next_epoch_++;
  epoch_.start = epoch_.index == pos_.epoch ? static_cast<uint64_t>(pos_.epoch_sample) : 0;
  epoch_.steps = static_cast<int64_t>(
      data::train_steps(batches_.records, info_.world_size, batches_.per_rank_step, epoch_.start));
  return true;
}

data::LoaderOptions TrainingRun::loader_options() const {
  data::LoaderOptions lo;
  lo.batch_size = cfg_.train.batch_size;
  lo.workers = workers_;
  lo.prefetch = cfg_.data.prefetch;
  lo.drop_last = true;
  lo.transform = train_transform_;
  data::set_delivery(lo, trainer_.device(), decode_plan_);
  lo.random_crop = true;
  lo.seed = cfg_.train.seed;
  lo.epoch = static_cast<uint64_t>(epoch_.index);
  lo.max_bad_records = cfg_.data.max_bad_records;
  lo.bad_records = bad_records_;
  return lo;
}

void TrainingRun::train_epoch() {
  epoch_.started = epoch_.window_started = Clock::now();
  data::Loader loader(
      train_set_,
      data::train_indices(batches_.records, cfg_.train.seed, static_cast<uint64_t>(epoch_.index), info_.rank,
                          info_.world_size, batches_.per_rank_step, epoch_.start),
      loader_options());
  data::DeviceFeed feed(loader, trainer_.device());
  trainer_.model()->train();
  while (epoch_.done < epoch_.steps && train_one_step(feed)) {
  }
  result_.train = epoch_.tally;
  comm::broadcast_buffers(*trainer_.model(), *trainer_.comm());  // BatchNorm statistics: rank 0's everywhere
  epoch_.seconds = seconds_since(epoch_.started);
}

// One optimizer step and what follows it on every rank: stop agreement, the logging window, a periodic
// checkpoint. False when the epoch ends early (a stop signal, max_steps).
bool TrainingRun::train_one_step(data::DeviceFeed& feed) {
  if (fault_.rank == info_.rank && fault_.step == step_ + 1 && fault_.kind != FaultKind::kSlowsave)
    inject_fault(fault_, info_.rank, step_ + 1);
  epoch_.lr = schedule_.at(fractional_epoch());
  epoch_.window_wait_s += trainer_.step().run(step_, epoch_.lr, [&] {
    auto batch = feed.next();
    WISESR_CHECK(batch.has_value(), "loader ended early at step ", epoch_.done, " of epoch ",
                 epoch_.index + 1);
    return std::move(*batch);
  });
  ++step_;
  ++epoch_.window_steps;
  watchdog_->beat("training step", step_);

  const int signal = agree_on_stop(trainer_.control());
  const bool hit_max = cfg_.train.max_steps > 0 && step_ >= cfg_.train.max_steps;
  const bool last = epoch_.done + 1 == epoch_.steps || hit_max || signal != 0;
  if (step_ % cfg_.train.log_every == 0 || last) report_window(last);
  ++epoch_.done;
  if (signal != 0) {
    reporters_.on_stop(signal, step_, /*before_first_step=*/false);
    result_.preempted = true;
    stop("preempted");
    return false;
  }
  if (hit_max) {
    stop("max_steps");
    return false;
  }
  const int64_t every = cfg_.train.checkpoint_every;
  if (every > 0 && step_ % every == 0 && epoch_.done < epoch_.steps)
    save({epoch_.index, static_cast<int64_t>(samples_done(epoch_.done)), step_, pos_.best_top1, 0},
         "periodic");
  return true;
}

// Collective: the window's metrics reduced over ranks (every rank runs the same steps), then reported.
void TrainingRun::report_window(bool last) {
  const Tally r = trainer_.step().tally().take().reduced(*trainer_.comm());
  WISESR_CHECK(std::isfinite(r.loss_sum), "loss is not finite at step ", step_, " (epoch ", epoch_.index + 1,
               "); lower --optim.lr");
  StepWindow w;
  w.epoch = epoch_.index + 1;
  w.epochs = cfg_.train.epochs;
  w.step = step_;
  w.epoch_step = epoch_.done + 1;
  w.epoch_steps = epoch_.steps;
  w.last = last;
  w.tally = r;
  w.lr = epoch_.lr;
  w.steps = epoch_.window_steps;
  w.seconds = seconds_since(epoch_.window_started);
  w.data_wait_s = epoch_.window_wait_s;
  w.peak_mem_gib = static_cast<double>(peak_memory_bytes(trainer_.device())) / (1 << 30);
  const double run_steps = static_cast<double>(step_ - loop_first_step_);
  const double per_step = run_steps > 0 ? seconds_since(loop_started_) / run_steps : 0;
  const double remaining =
      static_cast<double>(epoch_.steps - epoch_.done - 1) +
      static_cast<double>(cfg_.train.epochs - epoch_.index - 1) * static_cast<double>(batches_.epoch_steps);
  w.eta_s = remaining * per_step;
  reporters_.on_step_window(w);
  epoch_.tally += r;
  epoch_.data_wait_s += epoch_.window_wait_s;
  epoch_.window_wait_s = 0;
  epoch_.window_steps = 0;
  epoch_.window_started = Clock::now();
}

// ---- evaluation and checkpoints ------------------------------------------------------------------

void TrainingRun::evaluate() {
  if (val_set_ && !result_.preempted) {
    EvalOptions eo;
    eo.batch_size = cfg_.train.batch_size;
    eo.image_size = image_size_;
    eo.workers = workers_;
    eo.prefetch = cfg_.data.prefetch;
    eo.normalize = cfg_.augment.normalize;
    eo.decode = decode_plan_;
    eo.max_bad_records = cfg_.data.max_bad_records;
    eo.on_batch = [this] { watchdog_->beat("evaluation"); };
    result_.val = train::evaluate(trainer_.model(), *val_set_, *trainer_.comm(), trainer_.device(), eo);
    epoch_.val = result_.val;
    epoch_.improved = result_.val.top1_acc() > pos_.best_top1;
    if (epoch_.improved) pos_.best_top1 = result_.val.top1_acc();
  }
  report_epoch();
}

void TrainingRun::report_epoch() {
  EpochReport e;
  e.epoch = epoch_.index + 1;
  e.step = step_;
  e.lr = epoch_.lr;
  e.complete = epoch_.complete();
  e.train = epoch_.tally;
  e.val = epoch_.val;
  e.latest_val = result_.val;
  e.seconds = epoch_.seconds;
  e.data_wait_s = epoch_.data_wait_s;
  e.peak_mem_gib = static_cast<double>(peak_memory_bytes(trainer_.device())) / (1 << 30);
  reporters_.on_epoch(e);
}

void TrainingRun::checkpoint() {
  const bool done = epoch_.complete();
  const Position here{done ? epoch_.index + 1 : epoch_.index,
                      done ? 0 : static_cast<int64_t>(samples_done(epoch_.done)), step_, pos_.best_top1, 0};
  if (last_saved_ != step_) save(here, done ? "epoch end" : status_);
  if (rank0_ && epoch_.improved && !result_.checkpoint.empty()) checkpoints_.mark_best(result_.checkpoint);
}

// Collective (BatchNorm statistics first); rank 0 writes.
void TrainingRun::save(const Position& p, const std::string& why) {
  comm::broadcast_buffers(*trainer_.model(), *trainer_.comm());  // rank 0's statistics, as after an epoch
  watchdog_->beat("checkpoint");
  if (rank0_) {
    CheckpointMeta meta;
    meta.config_ini = config_ini_;
    meta.class_names = train_set_.manifest().classes;
    meta.image_size = image_size_;
    meta.epoch = p.epoch;
    meta.step = p.step;
    meta.tool_version = WISESR_VERSION;
    meta.epoch_sample = p.epoch_sample;
    meta.best_top1 = p.best_top1;
    meta.loss_scale = trainer_.scaler().enabled() ? trainer_.scaler().value() : 0.0;
    meta.world_size = info_.world_size;
    std::function<void()> before_commit;
    if (fault_.kind == FaultKind::kSlowsave && fault_.rank == info_.rank)
      before_commit = [this] { std::this_thread::sleep_for(std::chrono::seconds(fault_.step)); };
    result_.checkpoint = checkpoints_.save(*trainer_.model(), &trainer_.optimizer(), meta, before_commit);
    reporters_.on_checkpoint({result_.checkpoint, p.step, why});
  }
  last_saved_ = p.step;
  watchdog_->beat("checkpoint written");
}

TrainResult TrainingRun::finish() {
  result_.steps = step_;
  result_.seconds = seconds_since(started_);
  result_.cuda_graph = trainer_.step().graphed();
  RunSummary s;
  s.backbone = cfg_.model.backbone;
  s.head = cfg_.model.head;
  s.params = trainer_.parameters();
  s.ranks = info_.world_size;
  s.global_batch = static_cast<int64_t>(batches_.global);
  s.steps = step_;
  s.status = status_;
  s.exit_code = result_.preempted ? cfg_.train.preempt_exit_code : 0;
  s.steps_run_as = trainer_.step().describe();
  s.resumed_from_step = resumed_from_;
  s.seconds = result_.seconds;
  s.checkpoint = result_.checkpoint;
  s.train = result_.train;
  s.val = result_.val;
  s.best_top1 = pos_.best_top1;
  reporters_.on_finish(s);
  return result_;
}

}  // namespace

TrainResult run_train(const config::Config& cfg, const comm::ProcessGroupInfo& info) {
  TrainingRun run(cfg, info);
  run.resume_or_start();
  while (run.next_epoch()) {
    run.train_epoch();
    run.evaluate();
    run.checkpoint();
  }
  return run.finish();
}

}  // namespace wisesr::train
