#include "comm/nccl_communicator.h"

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

}  // namespace

NcclCommunicator::NcclCommunicator(const ProcessGroupInfo& info, int cuda_device)
    : rank_(info.rank), size_(info.world_size), device_(cuda_device) {
  ncclUniqueId id;
  if (rank_ == 0) WISESR_CHECK_NCCL(ncclGetUniqueId(&id));
  WISESR_CHECK_MPI(MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, MPI_COMM_WORLD));
  c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(device_));
  WISESR_CHECK_NCCL(ncclCommInitRank(&comm_, size_, id, rank_));
}

NcclCommunicator::~NcclCommunicator() {
  if (comm_) ncclCommDestroy(comm_);
}

void NcclCommunicator::check(ncclResult_t rc, const char* what) {
  if (rc == ncclSuccess) return;
  ncclComm_t comm = comm_;
  comm_ = nullptr;
  if (comm) ncclCommAbort(comm);
  WISESR_THROW("NCCL ", what, " failed on rank ", rank_, ": ", ncclGetErrorString(rc));
}

void NcclCommunicator::all_reduce(torch::Tensor& tensor, ReduceOp op) {
  WISESR_CHECK(comm_, "NCCL communicator was aborted after an earlier error");
  on_device(tensor, device_, [&](torch::Tensor& t) {
    auto stream = c10::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(device_));
    check(ncclAllReduce(t.data_ptr(), t.data_ptr(), static_cast<size_t>(t.numel()),
                        nccl_type(t.scalar_type()), nccl_op(op), comm_, stream.stream()),
          "all_reduce");
  });
}

void NcclCommunicator::broadcast(torch::Tensor& tensor, int root) {
  WISESR_CHECK(comm_, "NCCL communicator was aborted after an earlier error");
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
