#pragma once
// NCCL collectives on CUDA tensors, issued on the caller's current CUDA stream. Built only with NCCL
// (WISESR_HAVE_NCCL); the communicator is created from a unique id that rank 0 broadcasts over MPI.

#include <c10/cuda/CUDAStream.h>
#include <nccl.h>

#include <atomic>
#include <optional>

#include "comm/communicator.h"

#define WISESR_CHECK_NCCL(expr)                                                          \
  do {                                                                                   \
    ncclResult_t wisesr_nccl_rc_ = (expr);                                               \
    if (wisesr_nccl_rc_ != ncclSuccess) {                                                \
      WISESR_THROW("NCCL call " #expr " failed: ", ncclGetErrorString(wisesr_nccl_rc_)); \
    }                                                                                    \
  } while (false)

namespace wisesr::comm {

class NcclCommunicator final : public Communicator {
 public:
  /// Collective over MPI_COMM_WORLD: every rank must construct it with its own CUDA device.
  NcclCommunicator(const ProcessGroupInfo& info, int cuda_device);
  ~NcclCommunicator() override;
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string name() const override { return "nccl"; }
  void all_reduce(torch::Tensor& tensor, ReduceOp op = ReduceOp::kSum) override;
  void broadcast(torch::Tensor& tensor, int root = 0) override;
  void barrier() override;
  /// Launched on a dedicated communication stream after the current stream's pending work; wait()
  /// makes the current stream wait for it. Safe from autograd's threads.
  std::unique_ptr<Work> all_reduce_async(torch::Tensor& tensor, ReduceOp op = ReduceOp::kSum) override;
  bool any_thread() const override { return true; }
  bool capturable() const override { return true; }
  /// Polls ncclCommGetAsyncError; on an error aborts the communicator (peers then fail instead of hanging).
  std::string poll_error() override;

 private:
  /// Checks a result; on failure aborts the communicator (so peers do not hang) and throws.
  void check(ncclResult_t rc, const char* what);

  ncclComm_t comm_ = nullptr;
  std::atomic<bool> aborted_{false};
  std::optional<c10::cuda::CUDAStream> stream_;  // communication stream for all_reduce_async
  int rank_ = 0;
  int size_ = 1;
  int device_ = 0;
};

}  // namespace wisesr::comm
