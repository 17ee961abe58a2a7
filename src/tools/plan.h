#pragma once
// `wisesr plan`: what a training config costs on some GPU counts, before running it. For each count one
// table row: global batch and its split (micro-batch x accumulation), steps per epoch and in total, step
// time with the exposed gradient all-reduce, img/s, wall time, GPU-hours and cost, decode capacity
// needed per node against what the node has, and memory per GPU; for the config: shard size on disk and
// checkpoint size and write time.
//
// Usage:
//   wisesr bench train --model.backbone resnet50 --data.image_size 224 --train.batch_size 256 --no-sync
//       --json r50_224.json                                      # on one GPU of the target cluster
//   mpirun -np 16 wisesr bench comm --sizes 64K,25M --json comm16.json        # two nodes
//   wisesr plan --config configs/imagenet/resnet50_wise_224.cfg --gpus 8,64,512
//       --bench r50_224.json comm16.json [--gpu-hour-cost 2.5] [--json plan.json]
//
// In code: PlanInputs in = resolve_inputs(cfg, count_model(cfg));  // figures with their sources
//          Plan p = compute_plan(in, parse_gpu_counts(cfg.gpus));  std::cout << format_plan(p);
//
// Note [Plan model]
// ~~~~~~~~~~~~~~~~~
// Every input is a Figure with its source: measured (a bench JSON file, named), the dataset's manifest,
// given (the config's [plan] section or an option) or assumed (a documented default in plan.cpp, or a
// [plan] key listed in `assumed`). Table cells computed from an assumed figure end in '*'.
//  - Step on N GPUs (docs/scaling.md; tests/bench/scaling_model.py, ported as exposed_comm_ms): the
//    per-GPU batch is global / N, run as `accum` micro-batches of at most --train.batch_size. Compute is
//    the bench step scaled linearly from the bench's batch to the micro-batch (exactly the measurement
//    when they are equal; scaled is marked assumed), times accum (the optimizer once). Without a bench:
//    3 x forward GFLOPs x micro-batch / effective TFLOPS, assumed. The all-reduce of the last micro-batch's
//    gradients (params x 4 bytes in GradSync's buckets) overlaps its backward; what is left is exposed.
//  - Wall time: steps x step + an evaluation pass per epoch (val images x forward time per image / N)
//    + checkpoint writes (one per epoch end, one per --train.checkpoint_every steps) at the write rate.
//  - Memory per GPU: fp32 weights + fp32 gradients (they are views into GradSync's buckets: counted once)
//    + fp32 momentum + bf16/fp16 autocast weight copies + buffers + activations x micro-batch. The
//    activations per image come from a bench train peak memory (minus the same static terms at the
//    bench's batch), else an assumed per-image figure at 224 px scaled by (size / 224)^2.
//  - Checkpoint: fp32 weights + buffers + momentum (train/checkpoint.h).
//  - Decode: img/s per GPU x GPUs per node needed, against img/s per core x cores per node.
// Left out, as in docs/scaling.md: stragglers, start-up, large-batch effects on the number of epochs.

#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"

namespace wisesr::tools {

/// Where a figure comes from (Note [Plan model]).
enum class Source { kMeasured, kManifest, kGiven, kAssumed };

struct Figure {
  double value = 0;
  Source source = Source::kAssumed;
  std::string from;  // the file or option it comes from, or how an assumed value is made
  bool assumed() const { return source == Source::kAssumed; }
};

/// "measured: FILE ..." / "manifest: ..." / "given: ..." / "assumed: ...".
std::string describe(const Figure& f);

/// GradSync's bucket sizes for total_bytes of gradients as the scaling model sees them: `first` bytes,
/// then `rest` bytes each, the last one partial (scaling_model.py: buckets()).
std::vector<int64_t> model_buckets(int64_t total_bytes, int64_t first, int64_t rest);

/// Communication left after backward ends, in ms (scaling_model.py: exposed_comm_ms()): the buckets'
/// all-reduces, one at a time, each starting when backward has produced it (at a constant rate over
/// backward_ms) and the previous one is done, each 2(N-1)/N x bytes / busbw + latency.
double exposed_comm_ms(int64_t grad_bytes, double backward_ms, int gpus, double busbw_gbs, double latency_us,
                       int64_t first_bucket = 1 << 20, int64_t bucket = 25 << 20);

/// "8,64,512" -> {8, 64, 512}; throws naming --gpus on anything but positive integers.
std::vector<int> parse_gpu_counts(const std::string& text);

/// The model's figures that need it built (count_model in plan.cpp; exact, no source needed).
struct ModelFacts {
  int64_t params = 0;        // trainable parameter elements (fp32)
  int64_t buffer_bytes = 0;  // BatchNorm statistics and counters, as stored
  double gflops = 0;         // forward, per image (models::summarize)
  int64_t pool = 0, kernel = 0;
};
ModelFacts count_model(const config::PlanConfig& cfg, int64_t classes, int64_t image_size);

/// Everything compute_plan needs, resolved from the config, the bench files, the manifest and defaults.
struct PlanInputs {
  std::string config_file, backbone, head, precision;
  int64_t image_size = 0;
  Figure classes;
  ModelFacts model;
  int micro_batch_max = 1;   // --train.batch_size
  int accum_steps = 1;       // --train.accum_steps (used without a fixed global batch)
  int64_t global_batch = 0;  // 0 = weak scaling
  int epochs = 1;
  int64_t max_steps = 0;
  bool eval_each_epoch = true;
  int64_t checkpoint_every = 0;
  int64_t first_bucket_bytes = 1 << 20, bucket_bytes = 25 << 20;
  Figure train_images, val_images, image_bytes;  // image_bytes: stored bytes per image
  Figure shard_bytes;                            // on disk, train + val (manifest) or images x image_bytes
  // Compute: the bench step (or the assumed one) at bench_batch, its backward and optimizer parts.
  Figure step_ms, backward_ms, optimizer_ms, forward_ms;
  int bench_batch = 0;
  Figure activation_bytes;  // per image at image_size
  Figure nvlink_busbw, ib_busbw, latency_us, gpus_per_node;
  Figure decode_per_core, cores_per_node;
  Figure gpu_hour_cost, checkpoint_gbps;
};

/// Resolves every input (reads the bench files and, when --data.dir has one, the manifest); throws
/// naming the file on a missing, corrupt or foreign bench file (another model, size or class count).
PlanInputs resolve_inputs(const config::PlanConfig& cfg, const ModelFacts& facts);
/// The same with the model counted: resolve_inputs(cfg, count_model(...)).
PlanInputs resolve_inputs(const config::PlanConfig& cfg);

struct PlanRow {
  int gpus = 0;
  int64_t global_batch = 0, per_gpu = 0, micro_batch = 0, accum = 1;
  int64_t steps_per_epoch = 0, steps = 0;
  double busbw = 0, compute_ms = 0, exposed_ms = 0, step_ms = 0, efficiency = 0, img_per_s = 0;
  double train_s = 0, eval_s = 0, checkpoint_s = 0, wall_s = 0, gpu_hours = 0, cost = 0;
  int64_t checkpoints = 0;
  double decode_need = 0, decode_have = 0;  // img/s per node
  double memory_bytes = 0, static_bytes = 0, activation_bytes = 0;
  // Which cells depend on an assumed figure.
  bool step_assumed = false, wall_assumed = false, cost_assumed = false, decode_assumed = false,
       memory_assumed = false, steps_assumed = false;
};

struct Plan {
  PlanInputs in;
  double checkpoint_bytes = 0, checkpoint_write_s = 0;
  std::vector<PlanRow> rows;
};

/// The model of Note [Plan model]; throws when a fixed global batch does not divide by a GPU count.
Plan compute_plan(const PlanInputs& in, const std::vector<int>& gpus);
/// The printed report: a header, one Markdown table row per GPU count, the inputs with their sources.
std::string format_plan(const Plan& p);
/// The whole plan, inputs with their sources included, as JSON text.
std::string plan_json(const Plan& p);

/// `wisesr plan`: resolve, compute, print; writes cfg.json when set. Returns the exit status.
int run_plan(const config::PlanConfig& cfg);

}  // namespace wisesr::tools
