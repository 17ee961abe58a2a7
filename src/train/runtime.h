#pragma once
// Per-rank runtime choices (--train.device, --train.precision, --train.threads: RuntimeOptions in
// train/train_options.h): which device this rank drives, in which precision, and how many CPU threads it
// may use; the CUDA stream training runs on.

#include <torch/torch.h>

#include <memory>
#include <string>

#include "comm/mpi_runtime.h"
#include "train/train_options.h"

namespace wisesr::train {

/// The GPU a rank drives: its node-local rank; an error naming the counts when the node has more ranks than
/// GPUs.
int gpu_for_rank(const comm::ProcessGroupInfo& info, int gpus_on_node);

/// kAuto: GPU <local_rank> when CUDA is available, else CPU. kCuda without a GPU, or more ranks on
/// a node than it has GPUs, is an error naming the counts.
torch::Device select_device(DeviceKind preference, const comm::ProcessGroupInfo& info);

/// Resolved numeric precision of the forward/backward pass: kFp32, kBf16 or kFp16 (never kAuto).
/// kAuto is bf16 on CUDA and fp32 on CPU; fp16 needs CUDA.
Precision resolve_precision(Precision requested, const torch::Device& device);

/// Autocast to bf16/fp16 on the device while alive (nothing for fp32); weights stay fp32.
class AutocastScope {
 public:
  AutocastScope(const torch::Device& device, Precision precision);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  c10::DeviceType type_;
  bool enabled_ = false;
  bool was_enabled_ = false;
  at::ScalarType old_dtype_;
};

/// While alive, a non-default CUDA stream of the device is the current one (nothing on the CPU); the
/// training loop runs on it from start to end. Autograd pins each parameter's gradient accumulator to
/// the stream that was current when it was created, and GradSync's hooks keep those accumulators
/// alive: on the default stream they could never join a CUDA-graph capture (which needs a non-default
/// stream), so it comes before GradSync and before the first forward (train::Trainer makes it in that
/// order: Note [Trainer set-up order] in train/trainer.h). Also makes the device current for the thread.
class TrainingStream {
 public:
  explicit TrainingStream(const torch::Device& device);
  ~TrainingStream();
  TrainingStream(const TrainingStream&) = delete;
  TrainingStream& operator=(const TrainingStream&) = delete;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Convert 4-D parameters and buffers to channels_last in place (the caller passes NHWC inputs too).
void to_channels_last(torch::nn::Module& module);

/// Peak bytes allocated on a CUDA device since start-up (0 on CPU).
int64_t peak_memory_bytes(const torch::Device& device);

/// Intra-op threads: the requested count, or the node's cores divided among its ranks (at least 1).
int configure_threads(int requested, const comm::ProcessGroupInfo& info);

}  // namespace wisesr::train
