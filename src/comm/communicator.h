#pragma once
// The collective-communication interface the trainer uses. Backends: MpiCommunicator (CPU tensors,
// always built; the reference in tests) and NcclCommunicator (CUDA tensors, built with NCCL).
// Every rank must issue the same collectives in the same order with the same shapes.
//
// Usage:
//   auto comm = make_communicator(Backend::kAuto, info, device);   // collective (NCCL's set-up)
//   comm->all_reduce(t);                                          // in place, sum, on every rank
//   auto work = comm->all_reduce_async(bucket);  ...  work->wait(); // what GradSync does per bucket

#include <torch/torch.h>

#include <memory>
#include <string>

#include "comm/comm_options.h"
#include "comm/mpi_runtime.h"

namespace wisesr::comm {

enum class ReduceOp { kSum, kMax, kMin };

/// A launched collective. wait() makes its result visible to the caller: on the host for MPI, to work
/// queued afterwards on the current CUDA stream for NCCL. Must be waited on before destruction.
class Work {
 public:
  virtual ~Work() = default;
  virtual void wait() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string name() const = 0;
  /// In-place all-reduce of a contiguous tensor. Tensors on another device than the backend's are
  /// staged through it (correct, but slow: for metrics, not gradients).
  virtual void all_reduce(torch::Tensor& tensor, ReduceOp op = ReduceOp::kSum) = 0;
  /// In-place broadcast from root.
  virtual void broadcast(torch::Tensor& tensor, int root = 0) = 0;
  virtual void barrier() = 0;
  /// Start an in-place all-reduce of a contiguous tensor (on the backend's device, or host for MPI)
  /// and return without waiting. Default: a blocking all_reduce.
  virtual std::unique_ptr<Work> all_reduce_async(torch::Tensor& tensor, ReduceOp op = ReduceOp::kSum);
  /// Whether all_reduce_async may be called from threads other than the one that made the communicator
  /// (autograd runs CUDA backward on its own threads). MPI is initialised MPI_THREAD_FUNNELED: no.
  virtual bool any_thread() const { return false; }
  /// Whether the collectives are enqueued on the current CUDA stream without the host waiting (NCCL), so
  /// a CUDA graph can capture them (train/step_graph.h); host-driven backends (MPI) cannot be captured.
  virtual bool capturable() const { return false; }
  /// Thread-safe health check for a watchdog: a non-empty message (and the communicator aborted) once
  /// an asynchronous error was detected (NCCL); always empty for MPI, whose errors return from the call.
  virtual std::string poll_error() { return {}; }
};

/// Backend::kAuto: NCCL when the device is CUDA and NCCL was built in, else MPI. Throws on an unavailable
/// backend. Collective over MPI_COMM_WORLD.
std::unique_ptr<Communicator> make_communicator(Backend backend, const ProcessGroupInfo& info,
                                                const torch::Device& device);

/// Whether this build contains the NCCL backend.
bool nccl_available();

}  // namespace wisesr::comm
