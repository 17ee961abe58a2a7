// NCCL path vs MPI path with one rank per GPU. Skipped (cleanly) without a GPU or without NCCL in the
// build; on the GPU machine it runs under `mpirun -np 1`.

#include <gtest/gtest.h>

#include "comm/communicator.h"
#include "comm/grad_sync.h"
#include "comm/mpi_communicator.h"
#include "models/classifier.h"
#include "mpi_test_util.h"
#include "test_data.h"
#include "train/checkpoint.h"
#include "train/runtime.h"
#include "train/train_loop.h"

#include <cmath>

namespace wisesr::comm {
namespace {

ProcessGroupInfo gpu_info() {
  ProcessGroupInfo info;
  MPI_Comm_rank(MPI_COMM_WORLD, &info.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &info.world_size);
  MPI_Comm local;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, info.rank, MPI_INFO_NULL, &local);
  MPI_Comm_rank(local, &info.local_rank);
  MPI_Comm_size(local, &info.local_size);
  MPI_Comm_free(&local);
  return info;
}

#define WISESR_REQUIRE_GPU()                                         \
  do {                                                               \
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA GPU"; \
    if (!nccl_available()) GTEST_SKIP() << "built without NCCL";     \
  } while (false)

TEST(Nccl, CollectivesMatchTheMpiBackend) {
  WISESR_REQUIRE_GPU();
  const ProcessGroupInfo info = gpu_info();
  const torch::Device device = train::select_device(train::DeviceKind::kCuda, info);
  auto nccl = make_communicator(Backend::kNccl, info, device);
  MpiCommunicator mpi;
  auto x = torch::arange(1000, torch::kFloat) * (info.rank + 1);
  auto on_gpu = x.to(device);
  auto on_cpu = x.clone();
  nccl->all_reduce(on_gpu);
  mpi.all_reduce(on_cpu);
  EXPECT_TRUE(torch::allclose(on_gpu.cpu(), on_cpu));
  // One training step: NCCL-synchronised gradients equal MPI-synchronised ones.
  models::ModelOptions mc;
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

TEST(Nccl, AsyncAllReduceOnTheCommunicationStreamAndHealthyPoll) {
  WISESR_REQUIRE_GPU();
  const ProcessGroupInfo info = gpu_info();
  const torch::Device device = train::select_device(train::DeviceKind::kCuda, info);
  auto nccl = make_communicator(Backend::kNccl, info, device);
  EXPECT_TRUE(nccl->any_thread());
  auto x = torch::arange(1 << 20, torch::TensorOptions().dtype(torch::kFloat).device(device));
  auto expected = x * info.world_size;
  auto work = nccl->all_reduce_async(x);
  work->wait();
  EXPECT_TRUE(torch::equal(x, expected));
  EXPECT_EQ(nccl->poll_error(), "");
}

// A tiny dataset (3 classes x 8 training images, 64 px) written by rank 0 under dir, and a 2-epoch,
// batch-4 training config on the GPU for it: 12 steps.
constexpr int kTinyClasses = 3, kTinySize = 64;
config::Config tiny_gpu_training(const testing::TempDir& dir, const ProcessGroupInfo& info) {
  testing::TinyDatasetSpec spec;
  spec.classes = kTinyClasses;
  spec.train_per_class = 8;
  spec.size = kTinySize;
  if (info.rank == 0) testing::write_tiny_dataset(dir.path() / "data", spec);
  MPI_Barrier(MPI_COMM_WORLD);
  config::Config cfg;
  cfg.data.dir = (dir.path() / "data").string();
  cfg.train.out_dir = (dir.path() / "runs").string();
  cfg.train.batch_size = 4;
  cfg.train.epochs = 2;
  cfg.runtime.device = train::DeviceKind::kCuda;
  cfg.train.progress = train::Progress::kLines;
  return cfg;
}

TEST(Nccl, TrainerRunsBf16ChannelsLastOnTheGpu) {
  WISESR_REQUIRE_GPU();
  const ProcessGroupInfo info = gpu_info();
  testing::TempDir dir;
  config::Config cfg = tiny_gpu_training(dir, info);
  cfg.train.run_name = "gpu";
  cfg.validate();
  auto r = train::run_train(cfg, info);
  EXPECT_GT(r.steps, 0);
  EXPECT_TRUE(std::isfinite(r.train.mean_loss()));
}

// The trainer with its steps replayed from a CUDA graph (captured on step 3, with the loader's threads
// and nvJPEG running) against the same run with eager steps: the two runs' weight updates agree to a
// small fraction of their size (bf16 and cuDNN's algorithm choice keep them from being identical).
TEST(Nccl, TrainerGraphedRunMatchesEagerRun) {
  WISESR_REQUIRE_GPU();
  const ProcessGroupInfo info = gpu_info();
  testing::TempDir dir;
  // 12 steps: 2 eager, the capture, 9 replays across an epoch end and evaluation.
  config::Config cfg = tiny_gpu_training(dir, info);
  cfg.augment.augment =
      data::Augment::kNone;  // the same inputs in both runs, whatever the decoder's rounding
  auto run = [&](train::CudaGraph mode) {
    config::Config c = cfg;
    c.train.run_name = "graph-" + to_string(mode);
    c.runtime.cuda_graph = mode;
    c.validate();
    return train::run_train(c, info);
  };
  const auto graphed = run(train::CudaGraph::kOn), eager = run(train::CudaGraph::kOff);
  EXPECT_TRUE(graphed.cuda_graph);
  EXPECT_FALSE(eager.cuda_graph);
  EXPECT_EQ(graphed.steps, eager.steps);
  EXPECT_EQ(graphed.train.count, eager.train.count);  // the tally filled inside the graph reached the host
  auto weights = [&](const std::filesystem::path& checkpoint) {
    torch::manual_seed(cfg.train.seed);  // as the trainer builds it: the initial weights
    auto model = models::make_classifier(cfg.model, kTinyClasses, kTinySize);
    if (!checkpoint.empty()) train::CheckpointReader(checkpoint).load_model(*model);
    std::vector<torch::Tensor> flat;
    for (const auto& p : model->parameters()) flat.push_back(p.detach().flatten());
    return torch::cat(flat);
  };
  const auto initial = weights({}), a = weights(graphed.checkpoint), b = weights(eager.checkpoint);
  const double update = (b - initial).norm().item<double>(), gap = (a - b).norm().item<double>();
  EXPECT_GT(update, 0.0);
  EXPECT_LT(gap, 0.05 * update) << "graphed vs eager weights differ by " << gap << ", the update is "
                                << update;
}

}  // namespace
}  // namespace wisesr::comm
