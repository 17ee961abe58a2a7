#include "tools/train_bench.h"

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "comm/grad_sync.h"
#include "core/clock.h"
#include "core/error.h"
#include "comm/mpi_communicator.h"
#include "core/fs.h"
#include "core/log.h"
#include "data/device_feed.h"
#include "data/loader.h"
#include "data/sampler.h"
#include "models/classifier.h"
#include "tools/stats.h"
#include "train/loss_scaler.h"
#include "train/optimizer.h"
#include "train/runtime.h"
#include "train/train_step.h"

namespace wisesr::tools {
namespace {

namespace F = torch::nn::functional;

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

}  // namespace

TrainBenchResult run_train_bench(const config::BenchTrainConfig& cfg, const comm::ProcessGroupInfo& info) {
  config::ModelConfig mc;
  mc.backbone = cfg.model;
  mc.head = cfg.head;
  mc.pool = cfg.pool;
  models::check_model_config(mc);
  train::configure_threads(cfg.threads, info);
  const torch::Device device = train::select_device(cfg.device, info);
  const std::string precision = train::resolve_precision(cfg.precision, device);
  const bool channels_last = cfg.channels_last && device.is_cuda();
  if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
  const train::TrainingStream training_stream(device);  // as the trainer: before GradSync and forward
  comm::MpiCommunicator control;  // host-side reductions of the timings
  std::unique_ptr<comm::Communicator> comm;
  if (cfg.sync != "none") comm = comm::make_communicator(cfg.sync, info, device);
  auto device_sync = [&] {
    if (device.is_cuda()) torch::cuda::synchronize(device.index());
  };

  torch::manual_seed(cfg.seed);
  auto model = models::make_classifier(mc, cfg.classes, cfg.image_size);
  model->to(device);
  if (channels_last) train::to_channels_last(*model);
  model->train();
  if (comm) comm::broadcast_module(*model, *comm);
  train::Optimizer optimizer(*model,
                             train::OptimizerOptions{});  // SGD, momentum 0.9, as the trainer's default
  train::LossScaler scaler(device, precision == "fp16", 65536.0);
  std::unique_ptr<comm::GradSync> sync;
  if (comm) {
    // With one rank the trainer skips communication; here the all-reduces run anyway, so `--sync nccl`
    // vs `--sync none` measures what bucketing plus a one-rank NCCL all-reduce cost (as DDP pays).
    comm::GradSyncOptions so;
    so.single_rank_collectives = true;
    sync = std::make_unique<comm::GradSync>(model->parameters(), *comm, so);
  }
  constexpr double kLr = 0.01;  // small enough that random labels do not blow the weights up

  auto x =
      torch::randn({cfg.batch, 3, cfg.image_size, cfg.image_size}, torch::TensorOptions().device(device));
  if (channels_last) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  auto y =
      torch::randint(0, cfg.classes, {cfg.batch}, torch::TensorOptions().dtype(torch::kLong).device(device));

  // Real input (--data): the trainer's pipeline (shard reader, decode, augmentation, device feed). Each
  // step first copies its batch into x and y, which stay the same tensors (what a CUDA graph replays).
  std::unique_ptr<data::ShardSet> set;
  std::unique_ptr<data::Loader> loader;
  std::unique_ptr<data::DeviceFeed> feed;
  data::DecodePlan decode_plan;
  if (!cfg.data.empty()) {
    set = std::make_unique<data::ShardSet>(cfg.data, cfg.split);
    const uint64_t n = set->size(), per_step = static_cast<uint64_t>(cfg.batch);
    WISESR_CHECK(data::train_steps(n, info.world_size, per_step) > 0, "split '", cfg.split, "' of '", cfg.data,
                 "' has ", n, " records, fewer than one global batch (", cfg.batch * info.world_size, ")");
    WISESR_CHECK(set->manifest().classes.size() <= static_cast<size_t>(cfg.classes), "'", cfg.data, "' has ",
                 set->manifest().classes.size(), " classes, more than --classes ", cfg.classes);
    // Enough batches for every step below (warm-up, capture, timed, breakdown), epoch after epoch.
    const uint64_t needed = static_cast<uint64_t>(cfg.warmup + cfg.steps + cfg.breakdown_steps + 8) * per_step;
    std::vector<uint64_t> idx;
    for (uint64_t epoch = 0; idx.size() < needed; ++epoch) {
      const auto e = data::train_indices(n, cfg.seed, epoch, info.rank, info.world_size, per_step);
      idx.insert(idx.end(), e.begin(), e.end());
    }
    data::AugmentOptions ao;
    ao.recipe = cfg.augment;
    data::LoaderOptions lo;
    lo.batch_size = cfg.batch;
    lo.workers = cfg.workers > 0 ? cfg.workers : std::max(0, torch::get_num_threads() - 1);
    lo.prefetch = 3;
    lo.random_crop = true;
    lo.seed = cfg.seed;
    lo.transform = std::make_shared<data::BatchTransform>(ao, /*train=*/true, cfg.image_size);
    decode_plan = data::plan_decode(cfg.decode, device, set->manifest().storage, "--decode");
    data::configure_for_device(lo, device, decode_plan);
    loader = std::make_unique<data::Loader>(*set, std::move(idx), lo);
    feed = std::make_unique<data::DeviceFeed>(*loader, device);
  }
  // The trainer's step (train/train_step.h): eager, or static and replayed from a CUDA graph.
  train::TrainStepOptions to;
  to.precision = precision;
  to.channels_last = channels_last;
  to.cuda_graph = cfg.cuda_graph;
  to.cuda_graph_option = "--cuda-graph";
  to.backend = comm ? comm->name() : "none";
  to.seed = cfg.seed;
  to.rank = info.rank;
  to.fixed_inputs = cfg.data.empty();  // the synthetic batch: read in place, no copy per step
  train::TrainStep train_step(model, optimizer, scaler, sync.get(), device, to);
  const data::Batch synthetic{x, {}, {}, y, torch::ones({cfg.batch}, y.options().dtype(torch::kBool)), 0};
  auto next = [&]() -> data::Batch {
    if (!feed) return synthetic;
    auto b = feed->next();
    WISESR_CHECK(b.has_value(), "bench train: the input pipeline ended early");
    return std::move(*b);
  };
  int64_t steps_run = 0;
  auto one_step = [&] { return train_step.run(steps_run++, kLr, next); };  // seconds waiting for data

  // The breakdown pass: an eager step on x and y (the batch copied in first, with --data) with a device
  // sync after each phase, and the phase times in ms.
  auto breakdown_step = [&](double* phases) {
    const auto t0 = Clock::now();
    torch::Tensor logits;
    {
      train::AutocastScope autocast(device, precision);
      logits = model->forward(x);
    }
    auto loss = F::cross_entropy(logits.to(torch::kFloat), y);
    device_sync();
    phases[0] = ms_since(t0);
    const auto t1 = Clock::now();
    scaler.scale(loss).backward();
    if (sync) sync->synchronize();
    device_sync();
    phases[1] = ms_since(t1);
    const auto t2 = Clock::now();
    const bool finite = !scaler.enabled() || scaler.unscale(optimizer.grads());
    if (finite) {
      optimizer.step(kLr);
      model->apply_constraints();
    }
    optimizer.zero_grad();
    device_sync();
    phases[2] = ms_since(t2);
  };

  double phases[3] = {0, 0, 0};
  TrainBenchResult r;
  // With a graph to capture, the warm-up must reach past the capture step.
  const int warmup = train_step.graph_note().empty() ? std::max(cfg.warmup, to.eager_steps + 2) : cfg.warmup;
  for (int i = 0; i < warmup; ++i) one_step();
  r.graph_note = train_step.graph_note();
  device_sync();
  control.barrier();
  double timed_wait_s = 0;
  std::vector<double> step_ms;
  for (int i = 0; i < cfg.steps; ++i) {
    const auto t = Clock::now();
    timed_wait_s += one_step();
    device_sync();
    step_ms.push_back(ms_since(t));
  }
  std::vector<double> fwd, bwd, opt;
  for (int i = 0; i < cfg.breakdown_steps; ++i) {
    if (feed) {
      const data::Batch b = next();
      x.copy_(b.images);
      y.copy_(b.labels);
    }
    breakdown_step(phases);
    fwd.push_back(phases[0]);
    bwd.push_back(phases[1]);
    opt.push_back(phases[2]);
  }

  r.cuda_graph = train_step.graphed();
  if (feed) {
    r.input = "shards";
    r.decode = decode_plan.describe();
    double total_ms = 0;
    for (double ms : step_ms) total_ms += ms;
    const auto waits = max_over_ranks({total_ms > 0 ? 1000.0 * timed_wait_s / total_ms : 0.0}, control);
    r.data_wait_frac = waits[0];  // the slowest rank's
  }
  r.device = device.str();
  r.precision = precision;
  r.channels_last = channels_last;
  r.backend = comm ? comm->name() : "none";
  r.ranks = info.world_size;
  r.params = models::count_parameters(*model);
  r.grad_buckets = sync ? sync->num_buckets() : 0;
  step_ms = max_over_ranks(step_ms, control);
  r.step_ms = median(step_ms);
  r.step_ms_min = *std::min_element(step_ms.begin(), step_ms.end());
  r.step_ms_max = *std::max_element(step_ms.begin(), step_ms.end());
  r.img_per_s = r.step_ms > 0 ? 1000.0 * cfg.batch * info.world_size / r.step_ms : 0.0;
  if (cfg.breakdown_steps > 0) {
    r.forward_ms = median(max_over_ranks(fwd, control));
    r.backward_ms = median(max_over_ranks(bwd, control));
    r.optimizer_ms = median(max_over_ranks(opt, control));
  }
  auto mem = max_over_ranks(
      {static_cast<double>(train::peak_memory_bytes(device)), static_cast<double>(max_rss_bytes())}, control);
  r.peak_mem_bytes = static_cast<int64_t>(mem[0]);
  r.max_rss_bytes = static_cast<int64_t>(mem[1]);

  if (info.rank == 0) {
    std::printf("%s\n", format_train_bench(cfg, r).c_str());
    std::fflush(stdout);
    if (!cfg.json.empty()) {
      // The same keys as tests/bench/train_reference.py, so scripts can divide one by the other.
      const nlohmann::json j = {{"impl", "wisesr"},
                                {"model", cfg.model},
                                {"head", cfg.head},
                                {"image_size", cfg.image_size},
                                {"batch", cfg.batch},
                                {"classes", cfg.classes},
                                {"precision", r.precision},
                                {"channels_last", r.channels_last},
                                {"device", r.device},
                                {"sync", cfg.sync},
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
  }
  return r;
}

std::string format_train_bench(const config::BenchTrainConfig& cfg, const TrainBenchResult& r) {
  constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
  char line[512];
  int n = std::snprintf(
      line, sizeof(line),
      "bench train %s+%s %dpx batch %d x %d rank(s), %s%s, %s, sync %s%s: %.1f img/s (step %.2f ms, "
      "median of %d)",
      cfg.model.c_str(), cfg.head.c_str(), cfg.image_size, cfg.batch, r.ranks, r.precision.c_str(),
      r.channels_last ? " channels_last" : "", r.device.c_str(), r.backend.c_str(),
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
