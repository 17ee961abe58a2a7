#pragma once

#include <mpi.h>

#include "comm/communicator.h"

namespace wisesr::comm {

/// Collectives over MPI on host memory. CUDA tensors are copied to the host and back.
class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(MPI_Comm comm = MPI_COMM_WORLD);
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string name() const override { return "mpi"; }
  void all_reduce(torch::Tensor& tensor, ReduceOp op = ReduceOp::kSum) override;
  void broadcast(torch::Tensor& tensor, int root = 0) override;
  void barrier() override;
  /// MPI_Iallreduce on contiguous host tensors (completed in wait()); others fall back to blocking.
  std::unique_ptr<Work> all_reduce_async(torch::Tensor& tensor, ReduceOp op = ReduceOp::kSum) override;

 private:
  MPI_Comm comm_;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace wisesr::comm
