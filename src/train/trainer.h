#pragma once
// The parts one rank trains with, owned in the order they must be made: threads -> device and precision ->
// the training stream -> the gradient communicator and the host-side control communicator -> the model
// on the device -> optimizer -> loss scaler -> GradSync -> the training step. The members are declared
// in that order, so C++ constructs them in it (and destroys them in reverse); Note [Trainer set-up order]
// says why the order matters. `wisesr train` (train/train_loop.h) and `wisesr bench train`
// (tools/train_bench.h) both build one; `wisesr eval` builds only the pieces it needs from the same
// functions (select_device, make_communicator, make_classifier).
//
// Usage:
//   1. TrainerOptions o;  o.runtime = cfg.runtime;  o.comm = cfg.comm;  o.model = cfg.model;  ...
//   2. Trainer trainer(o, info, classes, image_size);           // collective (NCCL set-up)
//   3. rank 0 may load a checkpoint into trainer.model() / trainer.optimizer(); then, on every rank,
//      trainer.broadcast_state(loss_scale);                    // identical replicas from rank 0
//   4. per optimizer step: trainer.step().run(step, lr, next_batch);   (train/train_step.h)
//
// Note [Trainer set-up order]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~
// - The intra-op thread count is set before anything creates a thread pool.
// - The TrainingStream (train/runtime.h) is current before the model's first use on the device:
//   autograd binds each gradient accumulator to the stream current when it is made, and a CUDA graph
//   can only capture a non-default stream. GradSync's hooks keep those accumulators alive.
// - The model is on the device and in its memory format (channels_last) before the optimizer and
//   GradSync see its parameters: GradSync lays each gradient out as a view into its bucket with the
//   parameter's strides, and later set_data() calls would break those views.
// - GradSync is made before the step, which registers nothing itself but runs backward through its hooks.
// - Loading a checkpoint copies into the parameters in place, so it may follow all of this; the
//   broadcast that makes the replicas identical comes after it (step 3).

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>

#include "comm/comm_options.h"
#include "comm/communicator.h"
#include "comm/grad_sync.h"
#include "comm/mpi_communicator.h"
#include "models/classifier.h"
#include "models/model_options.h"
#include "train/loss_scaler.h"
#include "train/optimizer.h"
#include "train/runtime.h"
#include "train/train_options.h"
#include "train/train_step.h"

namespace wisesr::train {

/// What a Trainer is built from: the option groups it uses, and two choices of benchmarks.
struct TrainerOptions {
  RuntimeOptions runtime;
  comm::CommOptions comm;
  models::ModelOptions model;
  OptimizerOptions optim;
  int accum_steps = 1;  // --train.accum_steps
  uint64_t seed = 42;   // --train.seed: the initial weights, and the step's dropout seeds
  /// false: no gradient communicator and no GradSync at all (`bench train --no-sync`).
  bool grad_sync = true;
  /// GradSync all-reduces even with one rank, to measure what that costs (`bench train`).
  bool single_rank_collectives = false;
  /// The batches are the same tensors every step (a benchmark's synthetic batch; train/train_step.h).
  bool fixed_inputs = false;
};

class Trainer {
 public:
  /// Builds every part (Note [Trainer set-up order]) for `classes` classes at `image_size`. Collective
  /// over MPI_COMM_WORLD (communicator set-up). The replicas differ until broadcast_state().
  Trainer(const TrainerOptions& options, const comm::ProcessGroupInfo& info, int64_t classes, int image_size);
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  /// Collective: parameters, buffers and (after a resume) momentum buffers from rank 0, and the fp16
  /// loss scale when loss_scale > 0. Call once after rank 0 has loaded any checkpoint.
  void broadcast_state(bool resumed = false, double loss_scale = 0);

  const comm::ProcessGroupInfo& info() const { return info_; }
  int threads() const { return threads_; }
  const torch::Device& device() const { return device_; }
  Precision precision() const { return precision_; }
  bool channels_last() const { return channels_last_; }
  /// The gradient communicator (also for collectives on the device: evaluation, BatchNorm statistics);
  /// null with grad_sync false.
  comm::Communicator* comm() const { return comm_.get(); }
  /// Host-side agreement (stop signals, timings) next to the gradient backend.
  comm::Communicator& control() { return control_; }
  models::Classifier& model() { return model_; }
  int64_t parameters() const { return parameters_; }
  Optimizer& optimizer() { return optimizer_; }
  LossScaler& scaler() { return scaler_; }
  /// Null with grad_sync false.
  comm::GradSync* grad_sync() const { return sync_.get(); }
  TrainStep& step() { return step_; }
  const TrainStep& step() const { return step_; }
  /// One line for the start-up log: ranks, device, backend, precision, threads, how steps run.
  std::string describe() const;

 private:
  comm::ProcessGroupInfo info_;
  int threads_;
  torch::Device device_;
  Precision precision_;
  bool channels_last_;
  TrainingStream stream_;
  std::unique_ptr<comm::Communicator> comm_;
  comm::MpiCommunicator control_;
  models::Classifier model_;
  int64_t parameters_;
  Optimizer optimizer_;
  LossScaler scaler_;
  std::unique_ptr<comm::GradSync> sync_;
  TrainStep step_;
};

}  // namespace wisesr::train
