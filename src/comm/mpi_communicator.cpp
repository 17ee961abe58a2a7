#include "comm/mpi_communicator.h"

namespace wisesr::comm {
namespace {

MPI_Datatype mpi_type(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat:
      return MPI_FLOAT;
    case torch::kDouble:
      return MPI_DOUBLE;
    case torch::kInt64:
      return MPI_INT64_T;
    case torch::kInt32:
      return MPI_INT32_T;
    case torch::kUInt8:
      return MPI_UINT8_T;
    case torch::kBool:
      return MPI_C_BOOL;
    default:
      WISESR_THROW("MPI backend: unsupported dtype ", c10::toString(t));
  }
}

MPI_Op mpi_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum:
      return MPI_SUM;
    case ReduceOp::kMax:
      return MPI_MAX;
    case ReduceOp::kMin:
      return MPI_MIN;
  }
  return MPI_SUM;
}

// Runs fn on a contiguous host tensor holding tensor's values, then writes the result back.
template <typename Fn>
void on_host(torch::Tensor& tensor, Fn&& fn) {
  // Half/bfloat16 have no MPI type: reduce in float32 and convert back.
  const bool widen = tensor.scalar_type() == torch::kHalf || tensor.scalar_type() == torch::kBFloat16;
  if (tensor.device().is_cpu() && tensor.is_contiguous() && !widen) {
    fn(tensor);
    return;
  }
  torch::Tensor host = tensor.to(torch::kCPU, widen ? torch::kFloat : tensor.scalar_type()).contiguous();
  fn(host);
  tensor.copy_(host);
}

class MpiWork final : public Work {
 public:
  MpiWork(torch::Tensor tensor, MPI_Request request) : tensor_(std::move(tensor)), request_(request) {}
  ~MpiWork() override {
    // Never leave a request in flight on a buffer that may be freed; errors cannot be thrown here.
    if (request_ != MPI_REQUEST_NULL) MPI_Wait(&request_, MPI_STATUS_IGNORE);
  }
  void wait() override {
    if (request_ != MPI_REQUEST_NULL) WISESR_CHECK_MPI(MPI_Wait(&request_, MPI_STATUS_IGNORE));
  }

 private:
  torch::Tensor tensor_;  // keeps the buffer alive until the reduction completes
  MPI_Request request_;
};

}  // namespace

MpiCommunicator::MpiCommunicator(MPI_Comm comm) : comm_(comm) {
  WISESR_CHECK_MPI(MPI_Comm_rank(comm_, &rank_));
  WISESR_CHECK_MPI(MPI_Comm_size(comm_, &size_));
}

void MpiCommunicator::all_reduce(torch::Tensor& tensor, ReduceOp op) {
  if (size_ == 1 || tensor.numel() == 0) return;
  on_host(tensor, [&](torch::Tensor& t) {
    WISESR_CHECK(t.numel() <= INT32_MAX, "all_reduce of ", t.numel(), " elements exceeds MPI's count limit");
    WISESR_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, t.data_ptr(), static_cast<int>(t.numel()),
                                   mpi_type(t.scalar_type()), mpi_op(op), comm_));
  });
}

std::unique_ptr<Work> MpiCommunicator::all_reduce_async(torch::Tensor& tensor, ReduceOp op) {
  const auto t = tensor.scalar_type();
  if (size_ == 1 || tensor.numel() == 0 || !tensor.device().is_cpu() || !tensor.is_contiguous() ||
      t == torch::kHalf || t == torch::kBFloat16) {
    return Communicator::all_reduce_async(tensor, op);
  }
  WISESR_CHECK(tensor.numel() <= INT32_MAX, "all_reduce of ", tensor.numel(),
               " elements exceeds MPI's count limit");
  MPI_Request request = MPI_REQUEST_NULL;
  WISESR_CHECK_MPI(MPI_Iallreduce(MPI_IN_PLACE, tensor.data_ptr(), static_cast<int>(tensor.numel()),
                                  mpi_type(t), mpi_op(op), comm_, &request));
  return std::make_unique<MpiWork>(tensor, request);
}

void MpiCommunicator::broadcast(torch::Tensor& tensor, int root) {
  if (size_ == 1 || tensor.numel() == 0) return;
  on_host(tensor, [&](torch::Tensor& t) {
    WISESR_CHECK(t.numel() <= INT32_MAX, "broadcast of ", t.numel(), " elements exceeds MPI's count limit");
    WISESR_CHECK_MPI(
        MPI_Bcast(t.data_ptr(), static_cast<int>(t.numel()), mpi_type(t.scalar_type()), root, comm_));
  });
}

void MpiCommunicator::barrier() { WISESR_CHECK_MPI(MPI_Barrier(comm_)); }

}  // namespace wisesr::comm
