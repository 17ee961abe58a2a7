#include "tools/train_bench.h"

#include <sys/resource.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/error.h"
#include "core/fs.h"
#include "data/device_feed.h"
#include "data/loader.h"
#include "data/sampler.h"
#include "data/shard_set.h"
#include "tools/stats.h"
#include "train/trainer.h"

namespace wisesr::tools {
namespace {

constexpr double kLr = 0.01;  // small enough that random labels do not blow the weights up

int64_t max_rss_bytes() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

// Elementwise maximum over ranks: a step takes as long as its slowest rank.
std::vector<double> max_over_ranks(std::vector<double> v, comm::Communicator& control) {
  auto t = torch::from_blob(v.data(), {static_cast<int64_t>(v.size())}, torch::kDouble).clone();
  control.all_reduce(t, comm::ReduceOp::kMax);
  return {t.data_ptr<double>(), t.data_ptr<double>() + t.numel()};
}

nlohmann::json ms_or_null(double ms) { return ms < 0 ? nlohmann::json(nullptr) : nlohmann::json(ms); }

train::TrainerOptions trainer_options(const config::BenchTrainConfig& cfg) {
  train::TrainerOptions o;
  o.runtime = cfg.runtime;
  o.comm = cfg.comm;
  o.model = cfg.model;
  o.optim = cfg.optim;
  o.seed = cfg.train.seed;
  o.grad_sync = !cfg.no_sync;
  o.single_rank_collectives = true;
  o.fixed_inputs = cfg.data.dir.empty();  // the synthetic batch: read in place, no copy per step
  return o;
}

// The batches: one random batch made once on the device, or (--data.dir) the trainer's input pipeline
// (shard reader, decode, augmentation, device feed) over as many epochs as the steps need.
class BenchInput {
 public:
  BenchInput(const config::BenchTrainConfig& cfg, const comm::ProcessGroupInfo& info,
             const train::Trainer& trainer) {
    const auto& device = trainer.device();
    const int64_t batch = cfg.train.batch_size, size = cfg.data.image_size;
    auto x = torch::randn({batch, 3, size, size}, torch::TensorOptions().device(device));
    if (trainer.channels_last()) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
    auto y =
        torch::randint(0, cfg.classes, {batch}, torch::TensorOptions().dtype(torch::kLong).device(device));
    synthetic_ = data::Batch{x, {}, {}, y, torch::ones({batch}, y.options().dtype(torch::kBool)), 0};
    if (!cfg.data.dir.empty()) open_shards(cfg, info, device);
  }

  data::Batch next() {
    if (!feed_) return synthetic_;
    auto b = feed_->next();
    WISESR_CHECK(b.has_value(), "bench train: the input pipeline ended early");
    return std::move(*b);
  }
  bool shards() const { return feed_ != nullptr; }
  std::string decode() const { return plan_.describe(); }

 private:
  void open_shards(const config::BenchTrainConfig& cfg, const comm::ProcessGroupInfo& info,
                   const torch::Device& device) {
    set_ = std::make_unique<data::ShardSet>(cfg.data.dir, cfg.data.train_split);
    const uint64_t n = set_->size(), per_step = static_cast<uint64_t>(cfg.train.batch_size);
    WISESR_CHECK(data::train_steps(n, info.world_size, per_step) > 0, "split '", cfg.data.train_split,
                 "' of '", cfg.data.dir, "' has ", n, " records, fewer than one global batch (",
                 cfg.train.batch_size * info.world_size, ")");
    WISESR_CHECK(set_->manifest().classes.size() <= static_cast<size_t>(cfg.classes), "'", cfg.data.dir,
                 "' has ", set_->manifest().classes.size(), " classes, more than --classes ", cfg.classes);
    // Enough batches for every step of the benchmark (warm-up, capture, timed, breakdown), epoch after epoch.
    const uint64_t needed =
        static_cast<uint64_t>(cfg.warmup + cfg.steps + cfg.breakdown_steps + 8) * per_step;
    std::vector<uint64_t> idx;
    for (uint64_t epoch = 0; idx.size() < needed; ++epoch) {
      const auto e = data::train_indices(n, cfg.train.seed, epoch, info.rank, info.world_size, per_step);
      idx.insert(idx.end(), e.begin(), e.end());
    }
    data::LoaderOptions lo;
    lo.batch_size = cfg.train.batch_size;
    lo.workers = cfg.data.workers > 0 ? cfg.data.workers : std::max(0, torch::get_num_threads() - 1);
    lo.prefetch = cfg.data.prefetch;
    lo.random_crop = true;
    lo.seed = cfg.train.seed;
    lo.transform = std::make_shared<data::BatchTransform>(cfg.augment, /*train=*/true, cfg.data.image_size);
    plan_ = data::plan_decode(cfg.data.decode, device, set_->manifest().storage);
    data::set_delivery(lo, device, plan_);
    loader_ = std::make_unique<data::Loader>(*set_, std::move(idx), lo);
    feed_ = std::make_unique<data::DeviceFeed>(*loader_, device);
  }

  data::Batch synthetic_;
  data::DecodePlan plan_;
  std::unique_ptr<data::ShardSet> set_;
  std::unique_ptr<data::Loader> loader_;
  std::unique_ptr<data::DeviceFeed> feed_;
};

// What the timing loops measured on this rank.
struct Timings {
  std::vector<double> step_ms;        // the timed steps
  double wait_s = 0;                  // of them, waiting for batches
  std::vector<double> fwd, bwd, opt;  // the breakdown steps' phases
  std::string graph_note;             // why steps are not replayed from a graph ("" when they are)
};

Timings time_steps(const config::BenchTrainConfig& cfg, train::Trainer& trainer, BenchInput& input) {
  const auto& device = trainer.device();
  auto device_sync = [&] {
    if (device.is_cuda()) torch::cuda::synchronize(device.index());
  };
  train::TrainStep& step = trainer.step();
  int64_t steps_run = 0;
  auto next = [&] { return input.next(); };
  Timings t;
  // With a graph to capture, the warm-up must reach past the capture step.
  const int warmup = step.graph_note().empty()
                         ? std::max(cfg.warmup, train::TrainStepOptions{}.eager_steps + 2)
                         : cfg.warmup;
  for (int i = 0; i < warmup; ++i) step.run(steps_run++, kLr, next);
  t.graph_note = step.graph_note();
  device_sync();
  trainer.control().barrier();
  for (int i = 0; i < cfg.steps; ++i) {
    const auto t0 = Clock::now();
    t.wait_s += step.run(steps_run++, kLr, next);
    device_sync();
    t.step_ms.push_back(ms_since(t0));
  }
  // The breakdown: the same step, eager, timing each phase (Note [Phase timing] in train/train_step.h).
  Clock::time_point since;
  auto phase_ended = [&](train::StepPhase phase) {
    device_sync();
    if (phase == train::StepPhase::kForward) t.fwd.push_back(ms_since(since));
    if (phase == train::StepPhase::kBackward) t.bwd.push_back(ms_since(since));
    if (phase == train::StepPhase::kOptimizer) t.opt.push_back(ms_since(since));
    since = Clock::now();
  };
  for (int i = 0; i < cfg.breakdown_steps; ++i) step.run(steps_run++, kLr, next, phase_ended);
  return t;
}

TrainBenchResult summarize(const config::BenchTrainConfig& cfg, train::Trainer& trainer,
                           const BenchInput& input, Timings t) {
  comm::Communicator& control = trainer.control();
  TrainBenchResult r;
  r.graph_note = t.graph_note;
  r.cuda_graph = trainer.step().graphed();
  if (input.shards()) {
    r.input = "shards";
    r.decode = input.decode();
    double total_ms = 0;
    for (double ms : t.step_ms) total_ms += ms;
    r.data_wait_frac =
        max_over_ranks({total_ms > 0 ? 1000.0 * t.wait_s / total_ms : 0.0}, control)[0];  // slowest
  }
  r.device = trainer.device().str();
  r.precision = to_string(trainer.precision());
  r.channels_last = trainer.channels_last();
  r.backend = trainer.comm() ? trainer.comm()->name() : "none";
  r.ranks = trainer.info().world_size;
  r.params = trainer.parameters();
  r.grad_buckets = trainer.grad_sync() ? trainer.grad_sync()->num_buckets() : 0;
  const auto step_ms = max_over_ranks(t.step_ms, control);
  r.step_ms = median(step_ms);
  r.step_ms_min = *std::min_element(step_ms.begin(), step_ms.end());
  r.step_ms_max = *std::max_element(step_ms.begin(), step_ms.end());
  r.img_per_s = r.step_ms > 0 ? 1000.0 * cfg.train.batch_size * r.ranks / r.step_ms : 0.0;
  if (cfg.breakdown_steps > 0) {
    r.forward_ms = median(max_over_ranks(t.fwd, control));
    r.backward_ms = median(max_over_ranks(t.bwd, control));
    r.optimizer_ms = median(max_over_ranks(t.opt, control));
  }
  const auto mem = max_over_ranks(
      {static_cast<double>(train::peak_memory_bytes(trainer.device())), static_cast<double>(max_rss_bytes())},
      control);
  r.peak_mem_bytes = static_cast<int64_t>(mem[0]);
  r.max_rss_bytes = static_cast<int64_t>(mem[1]);
  return r;
}

// The same keys as tests/bench/train_reference.py, so scripts can divide one by the other.
void write_json(const config::BenchTrainConfig& cfg, const TrainBenchResult& r) {
  const nlohmann::json j = {{"impl", "wisesr"},
                            {"model", cfg.model.backbone},
                            {"head", cfg.model.head},
                            {"image_size", cfg.data.image_size},
                            {"batch", cfg.train.batch_size},
                            {"classes", cfg.classes},
                            {"precision", r.precision},
                            {"channels_last", r.channels_last},
                            {"device", r.device},
                            {"sync", cfg.no_sync ? "none" : to_string(cfg.comm.backend)},
                            {"backend", r.backend},
                            {"ranks", r.ranks},
                            {"grad_buckets", r.grad_buckets},
                            {"cuda_graph", r.cuda_graph},
                            {"input", r.input},
                            {"data_wait_frac", r.data_wait_frac},
                            {"params", r.params},
                            {"steps", cfg.steps},
                            {"warmup", cfg.warmup},
                            {"breakdown_steps", cfg.breakdown_steps},
                            {"img_per_s", r.img_per_s},
                            {"step_ms", r.step_ms},
                            {"step_ms_min", r.step_ms_min},
                            {"step_ms_max", r.step_ms_max},
                            {"forward_ms", ms_or_null(r.forward_ms)},
                            {"backward_ms", ms_or_null(r.backward_ms)},
                            {"optimizer_ms", ms_or_null(r.optimizer_ms)},
                            {"peak_mem_bytes", r.peak_mem_bytes},
                            {"max_rss_bytes", r.max_rss_bytes},
                            {"torch", TORCH_VERSION}};
  fs::write_file_atomic(cfg.json, j.dump(2) + "\n");
}

}  // namespace

TrainBenchResult run_train_bench(const config::BenchTrainConfig& cfg, const comm::ProcessGroupInfo& info) {
  train::Trainer trainer(trainer_options(cfg), info, cfg.classes, cfg.data.image_size);
  trainer.broadcast_state();
  trainer.model()->train();
  BenchInput input(cfg, info, trainer);
  const TrainBenchResult r = summarize(cfg, trainer, input, time_steps(cfg, trainer, input));
  if (info.rank == 0) {
    std::printf("%s\n", format_train_bench(cfg, r).c_str());
    std::fflush(stdout);
    if (!cfg.json.empty()) write_json(cfg, r);
  }
  return r;
}

std::string format_train_bench(const config::BenchTrainConfig& cfg, const TrainBenchResult& r) {
  constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
  char line[512];
  int n = std::snprintf(
      line, sizeof(line),
      "bench train %s+%s %dpx batch %d x %d rank(s), %s%s, %s, sync %s%s: %.1f img/s (step %.2f "
      "ms, median of %d)",
      cfg.model.backbone.c_str(), cfg.model.head.c_str(), cfg.data.image_size, cfg.train.batch_size, r.ranks,
      r.precision.c_str(), r.channels_last ? " channels_last" : "", r.device.c_str(), r.backend.c_str(),
      r.cuda_graph ? ", CUDA graph" : "", r.img_per_s, r.step_ms, cfg.steps);
  std::string out(line, static_cast<size_t>(std::max(0, std::min(n, static_cast<int>(sizeof(line)) - 1))));
  if (r.input != "synthetic") {
    std::snprintf(line, sizeof(line), "; input %s (decode %s), data wait %.1f%%", r.input.c_str(),
                  r.decode.c_str(), 100.0 * r.data_wait_frac);
    out += line;
  }
  if (r.forward_ms >= 0) {
    std::snprintf(line, sizeof(line), "; forward %.2f / backward+sync %.2f / optimizer %.2f ms", r.forward_ms,
                  r.backward_ms, r.optimizer_ms);
    out += line;
  }
  if (r.device.rfind("cuda", 0) == 0) {
    std::snprintf(line, sizeof(line), "; peak memory %.2f GiB", static_cast<double>(r.peak_mem_bytes) / kGiB);
  } else {
    std::snprintf(line, sizeof(line), "; max RSS %.2f GiB", static_cast<double>(r.max_rss_bytes) / kGiB);
  }
  out += line;
  return out;
}

}  // namespace wisesr::tools
