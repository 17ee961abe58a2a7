#include "comm/communicator.h"

#include "comm/mpi_communicator.h"
#include "wisesr/build_config.h"
#if WISESR_HAVE_NCCL
#include "comm/nccl_communicator.h"
#endif

namespace wisesr::comm {

bool nccl_available() { return WISESR_HAVE_NCCL; }

namespace {
class DoneWork final : public Work {
 public:
  void wait() override {}
};
}  // namespace

std::unique_ptr<Work> Communicator::all_reduce_async(torch::Tensor& tensor, ReduceOp op) {
  all_reduce(tensor, op);
  return std::make_unique<DoneWork>();
}

std::unique_ptr<Communicator> make_communicator(Backend backend, const ProcessGroupInfo& info,
                                                const torch::Device& device) {
  const bool want_nccl =
      backend == Backend::kNccl || (backend == Backend::kAuto && device.is_cuda() && nccl_available());
  if (!want_nccl) return std::make_unique<MpiCommunicator>();
  WISESR_CHECK(device.is_cuda(), "backend 'nccl' needs a CUDA device (got ", device.str(), ")");
#if WISESR_HAVE_NCCL
  return std::make_unique<NcclCommunicator>(info, device.index());
#else
  WISESR_THROW("backend 'nccl' requested but this build has no NCCL (configure with WISESR_WITH_NCCL=ON)");
#endif
}

}  // namespace wisesr::comm
