#pragma once
// One optimizer step of the training loop, eager or replayed from a CUDA graph.
//
// The step, on every rank: zero the gradients in place -> accum_steps micro-batches of forward
// (autocast) -> mean cross-entropy (label smoothing; corrupt records skipped by the loader carry no
// loss) / accum_steps -> backward, whose hooks launch the bucketed all-reduces (comm/grad_sync.h) ->
// GradSync::synchronize -> fp16 unscale (a step with inf/nan gradients is skipped) -> optional
// gradient clipping -> SGD/LARS update -> model constraints (the Wise-SrNet clamp, after every update).
// Dropout and any other randomness draw from a seed that is a function of (seed, step, micro-batch,
// rank), so a resumed run draws exactly what the uninterrupted one would have.
//
// Two ways to run it (chosen once, for the whole run, so every step of a run uses the same arithmetic):
//  - eager: each micro-batch is used as the loader delivers it, the learning rate is a host number.
//  - static (graph-ready): the batch is copied into input tensors that stay the same for the run, the
//    learning rate lives in a device tensor, the loss is always the valid-weighted mean and the metrics
//    are accumulated in place, so the step never waits for the host. On CUDA (--train.cuda_graph auto|on,
//    bf16/fp32, NCCL or no gradient sync, accum_steps 1) the first eager_steps steps run eagerly, the
//    next one warms up and captures the step (train/step_graph.h), and every later step is one copy of
//    the batch plus one graph replay. A capture that fails is an error that names --train.cuda_graph off
//    (PyTorch's capture state cannot be unwound, and all ranks must step alike).
// On CUDA the caller runs everything on a train::TrainingStream (runtime.h), so that the graph is
// captured on the stream the gradient accumulators are bound to.
//
// Usage (train::Trainer builds it in this order, train/trainer.h):
//   1. TrainingStream, model on the device (channels_last), Optimizer, LossScaler, GradSync (or none);
//   2. TrainStep step(model, optimizer, scaler, &sync, device, options);
//   3. per optimizer step: double waited = step.run(step_index, lr, [&] { return next_batch(); });
//   4. per logging window: Tally t = step.tally().take();   (one host synchronisation)
// See Note [Phase timing] for run()'s phase hook.
//
// Note [Phase timing]
// ~~~~~~~~~~~~~~~~~~~
// run(step, lr, next, phases) with a hook runs this very step (same loss, label smoothing, clipping,
// GradSync, clamp) eagerly, even where steps are otherwise static or replayed from a graph (a graph
// cannot stop between its phases), and calls the hook as each phase ends: kBatch when next() returned
// (per micro-batch), kForward after the autocast forward and the loss (per micro-batch), kBackward after
// the last backward and GradSync::synchronize, kOptimizer after unscaling, clipping, the update and the
// constraints. Zeroing the gradients comes before the first kBatch, in no phase. The hook may synchronise
// the device and read a clock: `wisesr bench train` times its forward / backward+sync / optimizer
// breakdown this way, with the real step rather than a copy of it.

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "comm/grad_sync.h"
#include "data/loader.h"
#include "models/classifier.h"
#include "train/loss_scaler.h"
#include "train/metrics.h"
#include "train/optimizer.h"
#include "train/step_graph.h"

namespace wisesr::train {

struct TrainStepOptions {
  Precision precision = Precision::kFp32;  // resolved (train/runtime.h: resolve_precision)
  bool channels_last = false;
  int accum_steps = 1;
  double label_smoothing = 0;
  double clip_grad_norm = 0;  // 0: no clipping
  CudaGraph cuda_graph = CudaGraph::kAuto;
  uint64_t seed = 42;
  int rank = 0;
  int eager_steps = 2;  // static steps run eagerly before the capture (allocator, cuDNN, NCCL warm-up)
  /// Tests: run the static (graph-ready) step even where no graph is captured (e.g. on the CPU).
  bool force_static = false;
  /// next() returns the same tensors every step (a benchmark's synthetic batch): the static step reads
  /// them in place instead of copying them into buffers of its own.
  bool fixed_inputs = false;
};

/// The phases of one step, in order (Note [Phase timing]).
enum class StepPhase { kBatch, kForward, kBackward, kOptimizer };

class TrainStep {
 public:
  /// Micro-batches come from next(), already on the device; a missing one is an error.
  using NextBatch = std::function<data::Batch()>;
  /// Called as each phase of a step ends (Note [Phase timing]).
  using PhaseHook = std::function<void(StepPhase)>;

  /// sync: the gradient synchronisation, or null for none (benchmarks). Whether its collectives can be
  /// captured in a CUDA graph is the communicator's to say (comm::Communicator::capturable); a GradSync
  /// that issues none (one rank) does not stand in a graph's way.
  TrainStep(models::Classifier model, Optimizer& optimizer, LossScaler& scaler, comm::GradSync* sync,
            const torch::Device& device, TrainStepOptions options);
  ~TrainStep();
  TrainStep(const TrainStep&) = delete;
  TrainStep& operator=(const TrainStep&) = delete;

  /// One optimizer step at learning rate lr; `step` counts the optimizer steps before it (the dropout
  /// seed). Counts the micro-batches into tally(). Returns the seconds spent waiting in next().
  /// Asynchronous on a GPU, like any eager step. With `phases`, an eager step that reports its phases.
  double run(int64_t step, double lr, const NextBatch& next, const PhaseHook& phases = {});

  /// The training metrics accumulated since the last take() (on the device).
  DeviceTally& tally() { return tally_; }
  /// Whether steps are replayed from a captured CUDA graph (from now on).
  bool graphed() const { return graph_ != nullptr; }
  /// How steps run, for the log: "CUDA graph (...)" or "eager (<why not a graph>)".
  std::string describe() const;
  /// Why steps are not (or will not be) replayed from a graph; "" when they are.
  const std::string& graph_note() const { return note_; }

 private:
  void seed_randomness(int64_t step, uint64_t micro) const;
  /// Autocast forward -> (logits, per-sample fp32 cross-entropy with label smoothing).
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x, const torch::Tensor& y);
  void clip_gradients();  // to --optim.clip_grad_norm, if set (no host sync)
  double run_eager(int64_t step, double lr, const NextBatch& next, const PhaseHook& phases);
  double run_static(int64_t step, double lr, const NextBatch& next);
  void static_body();  // what the graph captures: reads only the static tensors below

  models::Classifier model_;
  Optimizer& optimizer_;
  LossScaler& scaler_;
  comm::GradSync* sync_;
  torch::Device device_;
  TrainStepOptions opt_;
  DeviceTally tally_;
  bool static_ = false;   // graph-ready steps (see the header comment)
  bool capture_ = false;  // capture once eager_steps static steps have run
  std::string note_;      // why there is no graph ("" while one may still be captured)
  int64_t static_steps_ = 0;
  torch::Tensor x_, y_, valid_, lr_;  // the static step's inputs
  std::unique_ptr<StepGraph> graph_;
};

}  // namespace wisesr::train
