#include "train/trainer.h"

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>

#include "comm/grad_sync.h"
#include "config/cli.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/log.h"
#include "data/loader.h"
#include "data/sampler.h"
#include "data/shard_set.h"
#include "models/classifier.h"
#include "models/weights.h"
#include "train/checkpoint.h"
#include "train/evaluator.h"
#include "train/lr_schedule.h"
#include "train/runtime.h"
#include "wisesr/build_config.h"

namespace wisesr::train {
namespace {

using Clock = std::chrono::steady_clock;
namespace F = torch::nn::functional;

std::string default_run_name(const config::Config& cfg) {
  std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", std::localtime(&now));
  return cfg.model.backbone + "-" + cfg.model.head + "-" + stamp;
}

// Points <dir>/last.pt at the newest checkpoint, atomically (new symlink renamed over the old one).
void update_last_link(const std::filesystem::path& checkpoint) {
  const auto link = checkpoint.parent_path() / "last.pt";
  const auto tmp = fs::temp_path_for(link);
  std::error_code ec;
  std::filesystem::remove(tmp, ec);
  std::filesystem::create_symlink(checkpoint.filename(), tmp, ec);
  WISESR_CHECK(!ec, "cannot create symlink '", tmp.string(), "': ", ec.message());
  std::filesystem::rename(tmp, link, ec);
  WISESR_CHECK(!ec, "cannot update '", link.string(), "': ", ec.message());
}

nlohmann::json tally_json(const Tally& t) {
  return {{"loss", t.mean_loss()}, {"top1", t.top1_acc()}, {"top5", t.top5_acc()}, {"samples", t.count}};
}

}  // namespace

TrainResult run_train(const config::Config& cfg, const comm::ProcessGroupInfo& info) {
  const auto t_start = Clock::now();
  models::check_model_config(cfg.model);
  const int threads = configure_threads(cfg.train.threads, info);
  const torch::Device device = select_device(cfg.train.device, info);
  auto comm = comm::make_communicator(cfg.train.backend, info, device);
  const bool rank0 = info.rank == 0;

  data::ShardSet train_set(cfg.data.dir, cfg.data.train_split);
  std::unique_ptr<data::ShardSet> val_set;
  if (cfg.train.eval_each_epoch && train_set.manifest().splits.count(cfg.data.val_split)) {
    val_set = std::make_unique<data::ShardSet>(cfg.data.dir, cfg.data.val_split);
    if (val_set->size() == 0) val_set.reset();
  }
  const int64_t classes = static_cast<int64_t>(train_set.num_classes());
  const int image_size = cfg.data.image_size > 0 ? cfg.data.image_size : train_set.manifest().image_size;
  WISESR_CHECK(image_size > 0, "dataset '", cfg.data.dir,
               "' has variable-size images: set --data.image_size");

  const uint64_t per_rank = train_set.size() / static_cast<uint64_t>(info.world_size);
  const int64_t steps_per_epoch =
      static_cast<int64_t>(per_rank / static_cast<uint64_t>(cfg.train.batch_size));
  WISESR_CHECK(steps_per_epoch >= 1, "training split has ", train_set.size(), " records: too few for ",
               info.world_size, " ranks x batch ", cfg.train.batch_size, " (lower --train.batch_size)");

  torch::manual_seed(cfg.train.seed);
  auto model = models::make_classifier(cfg.model, classes, image_size);
  if (!cfg.model.pretrained.empty()) {
    models::load_backbone_state_dict(model->backbone(), cfg.model.pretrained);
    LOG_RANK0("backbone weights from " << cfg.model.pretrained << " (head initialised afresh)");
  }
  model->to(device);
  comm::broadcast_module(*model, *comm);  // identical replicas, whatever each rank's RNG did
  const int64_t params = models::count_parameters(*model);

  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(cfg.optim.lr)
                                                       .momentum(cfg.optim.momentum)
                                                       .weight_decay(cfg.optim.weight_decay));
  comm::GradSync sync(model->parameters(), *comm);

  config::Config resolved = cfg;
  resolved.data.image_size = image_size;
  if (resolved.train.run_name.empty()) resolved.train.run_name = default_run_name(cfg);
  const std::filesystem::path run_dir = std::filesystem::path(cfg.train.out_dir) / resolved.train.run_name;
  std::unique_ptr<JsonlWriter> metrics;
  if (rank0) {
    WISESR_CHECK(!std::filesystem::exists(run_dir), "run directory '", run_dir.string(),
                 "' already exists (choose another --train.run_name)");
    fs::ensure_dir(run_dir / "checkpoints");
    fs::write_file_atomic(run_dir / "config.ini", config::to_ini(resolved));
    metrics = std::make_unique<JsonlWriter>(run_dir / "metrics.jsonl");
    LOG_RANK0("wisesr " << WISESR_VERSION << ": " << info.world_size << " rank(s), device " << device.str()
                        << ", backend " << comm->name() << ", " << threads << " thread(s)/rank");
    LOG_RANK0("resolved config:\n" << config::to_ini(resolved));
    LOG_RANK0("model " << cfg.model.backbone << "+" << cfg.model.head << ": " << params << " parameters, "
                       << classes << " classes, input " << image_size << "x" << image_size << "; "
                       << train_set.size() << " train records, " << steps_per_epoch
                       << " steps/epoch, global batch " << cfg.train.batch_size * info.world_size);
    LOG_RANK0("run directory: " << run_dir.string());
  }

  TrainResult result;
  result.run_dir = run_dir;
  result.params = params;
  int64_t step = 0;
  const int workers = cfg.data.workers > 0 ? cfg.data.workers : std::max(0, threads - 1);
  bool stop = false;
  for (int epoch = 0; epoch < cfg.train.epochs && !stop; ++epoch) {
    const double lr = staircase_lr(cfg.optim.lr, cfg.optim.lr_decay, cfg.optim.lr_decay_epochs, epoch);
    for (auto& group : optimizer.param_groups())
      static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
    data::LoaderOptions lo;
    lo.batch_size = cfg.train.batch_size;
    lo.workers = workers;
    lo.drop_last = true;
    lo.image_size = image_size;
    lo.hflip = cfg.data.hflip;
    lo.vflip = cfg.data.vflip;
    lo.random_crop = true;
    lo.seed = cfg.train.seed;
    lo.epoch = static_cast<uint64_t>(epoch);
    data::Loader loader(
        train_set, data::train_indices(train_set.size(), cfg.train.seed, epoch, info.rank, info.world_size),
        lo);
    model->train();
    Tally epoch_tally, window;
    auto t_window = Clock::now();
    double data_wait = 0;
    for (int64_t s = 0; s < steps_per_epoch; ++s) {
      const auto t0 = Clock::now();
      auto batch = loader.next();
      WISESR_CHECK(batch.has_value(), "loader ended early at step ", s, " of epoch ", epoch);
      data_wait += std::chrono::duration<double>(Clock::now() - t0).count();
      auto x = batch->images.to(device), y = batch->labels.to(device);
      optimizer.zero_grad();
      auto logits = model->forward(x);
      auto per_sample = F::cross_entropy(logits, y, F::CrossEntropyFuncOptions().reduction(torch::kNone));
      auto loss = per_sample.mean();
      loss.backward();
      sync.synchronize();
      optimizer.step();
      model->apply_constraints();
      ++step;
      window.add(logits.detach(), y, per_sample.detach());
      WISESR_CHECK(std::isfinite(window.loss_sum), "loss is not finite at step ", step, " (epoch ", epoch + 1,
                   "); lower --optim.lr");
      const bool last = s + 1 == steps_per_epoch || (cfg.train.max_steps > 0 && step >= cfg.train.max_steps);
      if (step % cfg.train.log_every == 0 || last) {
        Tally r = window.reduced(*comm);  // collective: same steps on every rank
        const double secs = std::chrono::duration<double>(Clock::now() - t_window).count();
        const double img_s = secs > 0 ? r.count / secs : 0;
        if (rank0) {
          metrics->write(nlohmann::json({{"kind", "train"},
                                         {"epoch", epoch + 1},
                                         {"step", step},
                                         {"loss", r.mean_loss()},
                                         {"top1", r.top1_acc()},
                                         {"top5", r.top5_acc()},
                                         {"lr", lr},
                                         {"img_per_s", img_s},
                                         {"data_wait_s", data_wait}})
                             .dump());
        }
        LOG_RANK0("epoch " << epoch + 1 << "/" << cfg.train.epochs << " step " << s + 1 << "/"
                           << steps_per_epoch << " loss " << r.mean_loss() << " top1 " << r.top1_acc()
                           << " lr " << lr << " " << static_cast<int64_t>(img_s) << " img/s");
        epoch_tally += r;
        window = Tally{};
        data_wait = 0;
        t_window = Clock::now();
      }
      if (cfg.train.max_steps > 0 && step >= cfg.train.max_steps) {
        stop = true;
        break;
      }
    }
    result.train = epoch_tally;
    // BatchNorm running statistics are rank-local during the epoch (like DDP); take rank 0's before
    // evaluating and checkpointing so every rank evaluates the model that is saved.
    comm::broadcast_buffers(*model, *comm);
    nlohmann::json epoch_json = {{"kind", "epoch"},
                                 {"epoch", epoch + 1},
                                 {"step", step},
                                 {"lr", lr},
                                 {"train", tally_json(epoch_tally)}};
    if (val_set) {
      EvalOptions eo;
      eo.batch_size = cfg.train.batch_size;
      eo.image_size = image_size;
      eo.workers = workers;
      result.val = evaluate(model, *val_set, *comm, device, eo);
      epoch_json["val"] = tally_json(result.val);
      LOG_RANK0("epoch " << epoch + 1 << " validation: top1 " << result.val.top1_acc() << " top5 "
                         << result.val.top5_acc() << " loss " << result.val.mean_loss() << " ("
                         << static_cast<int64_t>(result.val.count) << " samples)");
    }
    if (rank0) {
      metrics->write(epoch_json.dump());
      CheckpointMeta meta{config::to_ini(resolved),
                          train_set.manifest().classes,
                          image_size,
                          epoch + 1,
                          step,
                          WISESR_VERSION};
      char name[32];
      std::snprintf(name, sizeof(name), "epoch-%04d.pt", epoch + 1);
      result.checkpoint = run_dir / "checkpoints" / name;
      save_checkpoint(result.checkpoint, *model, &optimizer, meta);
      update_last_link(result.checkpoint);
    }
  }
  result.steps = step;
  result.seconds = std::chrono::duration<double>(Clock::now() - t_start).count();
  if (rank0) {
    nlohmann::json summary = {{"backbone", cfg.model.backbone},
                              {"head", cfg.model.head},
                              {"params", params},
                              {"ranks", info.world_size},
                              {"steps", step},
                              {"train_seconds", result.seconds},
                              {"checkpoint", result.checkpoint.string()},
                              {"train", tally_json(result.train)}};
    if (result.val.count > 0) summary["val"] = tally_json(result.val);
    fs::write_file_atomic(run_dir / "summary.json", summary.dump(2) + "\n");
    LOG_RANK0("done: " << step << " steps in " << result.seconds << " s; checkpoint "
                       << result.checkpoint.string());
  }
  return result;
}

}  // namespace wisesr::train
