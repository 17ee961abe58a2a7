#pragma once
// Whole-step CUDA-graph capture: one training step (forward, backward with the gradient all-reduces,
// optimizer update, the Wise-SrNet clamp) recorded once and replayed as a single launch, so that
// models made of many small kernels (DenseNet at small batch) stop paying CPU launch cost per kernel.
//
// What the caller guarantees for the step it hands over:
//  - static shapes and addresses: the inputs are the same tensors every step (copy new data into them);
//  - no host synchronisation inside (no .item(), no MPI, no dynamic loss scaling);
//  - hyper-parameters that change between steps live in device tensors (constants are baked in).
// graph_unsupported_reason() decides from the configuration (eager steps where a graph cannot work);
// a capture that fails anyway is an error (GraphCaptureError) that names how to turn graphs off.

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "core/error.h"
#include "train/train_options.h"

namespace wisesr::train {

/// The capture itself failed (the warm-up steps before it succeeded). Not recoverable within the process:
/// PyTorch leaves its capture state behind; the caller reports it (naming the option that turns graphs off).
class GraphCaptureError : public Error {
 public:
  using Error::Error;
};

/// Whether to capture (--train.cuda_graph `mode`): "" if yes, else the reason not to ("off", or why the
/// configuration rules it out). kOn with a configuration that rules it out throws wisesr::Error naming
/// --train.cuda_graph and the reason. precision: resolved (not kAuto). collectives: the communicator the
/// step's gradients are all-reduced with, or null when the step issues no collectives.
std::string graph_unsupported_reason(CudaGraph mode, const torch::Device& device, Precision precision,
                                     const comm::Communicator* collectives);

class StepGraph {
 public:
  /// Runs `step` `warmup` times eagerly (cuDNN autotuning, allocator growth, NCCL set-up happen outside
  /// the capture), then captures one call of it: on the current stream if it is not the default one,
  /// else on a side stream. Throws GraphCaptureError if the
  /// capture fails (the CUDA state is cleaned up as far as possible first); an error of a warm-up step
  /// propagates as it is.
  StepGraph(const torch::Device& device, const std::function<void()>& step, int warmup = 3);
  ~StepGraph();
  StepGraph(const StepGraph&) = delete;
  StepGraph& operator=(const StepGraph&) = delete;

  /// One step: replays the graph on the current stream's device (asynchronous, like an eager step).
  void replay();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wisesr::train
