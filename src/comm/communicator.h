#pragma once
// The collective-communication interface the trainer uses. Backends: MpiCommunicator (CPU tensors,
// always built; the reference in tests) and NcclCommunicator (CUDA tensors, built with NCCL).
// Every rank must issue the same collectives in the same order with the same shapes.

#include <torch/torch.h>

#include <memory>
#include <string>

#include "comm/mpi_runtime.h"

namespace wisesr::comm {

enum class ReduceOp { kSum, kMax, kMin };

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
};

/// "auto": NCCL when the device is CUDA and NCCL was built in, else MPI. Throws on an unavailable backend.
std::unique_ptr<Communicator> make_communicator(const std::string& backend, const ProcessGroupInfo& info,
                                                const torch::Device& device);

/// Whether this build contains the NCCL backend.
bool nccl_available();

}  // namespace wisesr::comm
