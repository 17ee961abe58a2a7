#include "comm/nccl_communicator.h"

#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

namespace wisesr::comm {
namespace {

ncclDataType_t nccl_type(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat:
      return ncclFloat32;
    case torch::kDouble:
      return ncclFloat64;
    case torch::kHalf:
      return ncclFloat16;
    case torch::kBFloat16:
      return ncclBfloat16;
    case torch::kInt64:
      return ncclInt64;
    case torch::kInt32:
      return ncclInt32;
    case torch::kUInt8:
      return ncclUint8;
    default:
      WISESR_THROW("NCCL backend: unsupported dtype ", c10::toString(t));
  }
}

ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum:
      return ncclSum;
    case ReduceOp::kMax:
      return ncclMax;
    case ReduceOp::kMin:
      return ncclMin;
  }
  return ncclSum;
}

// Runs fn on a contiguous tensor on this rank's GPU holding tensor's values, then writes the result back.
template <typename Fn>
void on_device(torch::Tensor& tensor, int device, Fn&& fn) {
  if (tensor.is_cuda() && tensor.get_device() == device && tensor.is_contiguous()) {
    fn(tensor);
    return;
  }
  torch::Tensor staged =
      tensor.to(torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(device))).contiguous();
  fn(staged);
  tensor.copy_(staged);
}

class NcclWork final : public Work {
 public:
  NcclWork(at::cuda::CUDAEvent done, c10::DeviceIndex device) : done_(std::move(done)), device_(device) {}
  void wait() override { done_.block(c10::cuda::getCurrentCUDAStream(device_)); }

 private:
  at::cuda::CUDAEvent done_;
  c10::DeviceIndex device_;
};

}  // namespace

NcclCommunicator::NcclCommunicator(const ProcessGroupInfo& info, int cuda_device)
    : rank_(info.rank), size_(info.world_size), device_(cuda_device) {
  ncclUniqueId id;
  if (rank_ == 0) WISESR_CHECK_NCCL(ncclGetUniqueId(&id));
  WISESR_CHECK_MPI(MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, MPI_COMM_WORLD));
  c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(device_));
  WISESR_CHECK_NCCL(ncclCommInitRank(&comm_, size_, id, rank_));
  stream_ = c10::cuda::getStreamFromPool(/*isHighPriority=*/true, static_cast<c10::DeviceIndex>(device_));
}

NcclCommunicator::~NcclCommunicator() {
  if (comm_ && !aborted_.load()) ncclCommDestroy(comm_);
}

std::string NcclCommunicator::poll_error() {
  if (!comm_) return {};
  if (aborted_.load()) return "NCCL communicator aborted";
  ncclResult_t state = ncclSuccess;
  const ncclResult_t rc = ncclCommGetAsyncError(comm_, &state);
  if (rc == ncclSuccess && (state == ncclSuccess || state == ncclInProgress)) return {};
  const std::string message = std::string("NCCL asynchronous error on rank ") + std::to_string(rank_) + ": " +
                              ncclGetErrorString(rc != ncclSuccess ? rc : state);
  if (!aborted_.exchange(true)) ncclCommAbort(comm_);
  return message;
}

std::unique_ptr<Work> NcclCommunicator::all_reduce_async(torch::Tensor& tensor, ReduceOp op) {
  WISESR_CHECK(comm_ && !aborted_.load(), "NCCL communicator was aborted after an earlier error");
  const auto dev = static_cast<c10::DeviceIndex>(device_);
  WISESR_CHECK(tensor.is_cuda() && tensor.get_device() == device_ && tensor.is_contiguous(),
               "all_reduce_async needs a contiguous tensor on cuda:", device_);
  c10::cuda::CUDAGuard guard(dev);
  // The communication stream starts after everything queued so far on the compute stream (the
  // gradients of this bucket), and the caching allocator must not reuse the bucket until it is done.
  at::cuda::CUDAEvent ready;
  ready.record(c10::cuda::getCurrentCUDAStream(dev));
  ready.block(*stream_);
  check(ncclAllReduce(tensor.data_ptr(), tensor.data_ptr(), static_cast<size_t>(tensor.numel()),
                      nccl_type(tensor.scalar_type()), nccl_op(op), comm_, stream_->stream()),
        "all_reduce");
  tensor.record_stream(*stream_);
  at::cuda::CUDAEvent done;
  done.record(*stream_);
  return std::make_unique<NcclWork>(std::move(done), dev);
}

void NcclCommunicator::check(ncclResult_t rc, const char* what) {
  if (rc == ncclSuccess) return;
  if (comm_ && !aborted_.exchange(true)) ncclCommAbort(comm_);
  WISESR_THROW("NCCL ", what, " failed on rank ", rank_, ": ", ncclGetErrorString(rc));
}

void NcclCommunicator::all_reduce(torch::Tensor& tensor, ReduceOp op) {
  WISESR_CHECK(comm_ && !aborted_.load(), "NCCL communicator was aborted after an earlier error");
  on_device(tensor, device_, [&](torch::Tensor& t) {
    auto stream = c10::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(device_));
    check(ncclAllReduce(t.data_ptr(), t.data_ptr(), static_cast<size_t>(t.numel()),
                        nccl_type(t.scalar_type()), nccl_op(op), comm_, stream.stream()),
          "all_reduce");
  });
}

void NcclCommunicator::broadcast(torch::Tensor& tensor, int root) {
  WISESR_CHECK(comm_ && !aborted_.load(), "NCCL communicator was aborted after an earlier error");
  on_device(tensor, device_, [&](torch::Tensor& t) {
    auto stream = c10::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(device_));
    check(ncclBroadcast(t.data_ptr(), t.data_ptr(), static_cast<size_t>(t.numel()),
                        nccl_type(t.scalar_type()), root, comm_, stream.stream()),
          "broadcast");
  });
}

void NcclCommunicator::barrier() {
  // A one-element all-reduce orders every rank; then wait for it on the host.
  torch::Tensor t = torch::zeros({1}, torch::TensorOptions().device(torch::kCUDA, device_));
  all_reduce(t);
  c10::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(device_)).synchronize();
}

}  // namespace wisesr::comm
