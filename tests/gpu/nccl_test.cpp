// NCCL path vs MPI path with one rank per GPU. Skipped (cleanly) without a GPU or without NCCL in the
// build; on the GPU machine it runs under `mpirun -np 1`.

#include <gtest/gtest.h>

#include "comm/communicator.h"
#include "comm/grad_sync.h"
#include "comm/mpi_communicator.h"
#include "models/classifier.h"
#include "train/runtime.h"

namespace wisesr::comm {
namespace {

TEST(Nccl, CollectivesMatchTheMpiBackend) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA GPU";
  if (!nccl_available()) GTEST_SKIP() << "built without NCCL";
  ProcessGroupInfo info;
  MPI_Comm_rank(MPI_COMM_WORLD, &info.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &info.world_size);
  MPI_Comm local;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, info.rank, MPI_INFO_NULL, &local);
  MPI_Comm_rank(local, &info.local_rank);
  MPI_Comm_size(local, &info.local_size);
  MPI_Comm_free(&local);
  const torch::Device device = train::select_device("cuda", info);
  auto nccl = make_communicator("nccl", info, device);
  MpiCommunicator mpi;
  auto x = torch::arange(1000, torch::kFloat) * (info.rank + 1);
  auto on_gpu = x.to(device);
  auto on_cpu = x.clone();
  nccl->all_reduce(on_gpu);
  mpi.all_reduce(on_cpu);
  EXPECT_TRUE(torch::allclose(on_gpu.cpu(), on_cpu));
  // One training step: NCCL-synchronised gradients equal MPI-synchronised ones.
  config::ModelConfig mc;
  torch::manual_seed(3);
  auto a = models::make_classifier(mc, 4, 64);
  torch::manual_seed(3);
  auto b = models::make_classifier(mc, 4, 64);
  a->to(device);
  torch::manual_seed(9);
  auto xb = torch::randn({4, 3, 64, 64});
  auto yb = torch::randint(0, 4, {4}, torch::kLong);
  torch::nn::functional::cross_entropy(a->forward(xb.to(device)), yb.to(device)).backward();
  torch::nn::functional::cross_entropy(b->forward(xb), yb).backward();
  GradSync(a->parameters(), *nccl).synchronize();
  GradSync(b->parameters(), mpi).synchronize();
  auto pa = a->parameters(), pb = b->parameters();
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_TRUE(torch::allclose(pa[i].grad().cpu(), pb[i].grad(), 1e-3, 1e-4)) << i;
  }
}

}  // namespace
}  // namespace wisesr::comm
