// Multi-rank behaviour of the training loop: the Wise-SrNet clamp after every step, the trainer end to
// end on real shards, and evaluation that counts every validation record exactly once.

#include <gtest/gtest.h>

#include <fstream>

#include "comm/grad_sync.h"
#include "comm/mpi_communicator.h"
#include "config/cli.h"
#include "data/shard_set.h"
#include "models/classifier.h"
#include "mpi_test_util.h"
#include "train/checkpoint.h"
#include "train/evaluator.h"
#include "train/trainer.h"

namespace wisesr::train {
namespace {

namespace F = torch::nn::functional;

comm::ProcessGroupInfo world_info() {
  comm::ProcessGroupInfo info;
  MPI_Comm_rank(MPI_COMM_WORLD, &info.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &info.world_size);
  info.local_rank = info.rank;
  info.local_size = info.world_size;
  return info;
}

TEST(Clamp, KernelIsNonNegativeAfterEveryStepWhileBiasMayBeNegative) {
  comm::MpiCommunicator comm;
  config::ModelConfig mc;
  torch::manual_seed(11);
  auto model = models::make_classifier(mc, 4, 64);
  auto& head = dynamic_cast<models::WiseHeadImpl&>(model->head());
  {
    torch::NoGradGuard g;  // start from a kernel that violates the constraint everywhere
    head.depthwise->weight.fill_(-0.1);
    head.depthwise->bias.fill_(-0.3);
  }
  torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  comm::GradSync sync(model->parameters(), comm);
  bool clamped_to_zero = false;
  for (int step = 0; step < 5; ++step) {
    torch::manual_seed(1000 + step * 31 + comm.rank());  // different data per rank
    opt.zero_grad();
    F::cross_entropy(model->forward(torch::randn({4, 3, 64, 64})), torch::randint(0, 4, {4}, torch::kLong))
        .backward();
    sync.synchronize();
    opt.step();
    model->apply_constraints();
    EXPECT_GE(head.depthwise->weight.min().item<float>(), 0.0f) << "step " << step;
    clamped_to_zero |= (head.depthwise->weight == 0).any().item<bool>();
    EXPECT_TRUE(testing::same_on_every_rank(head.depthwise->weight)) << "replicas diverged at step " << step;
  }
  EXPECT_TRUE(clamped_to_zero);
  EXPECT_LT(head.depthwise->bias.min().item<float>(), 0.0f) << "the bias must not be clamped";
}

TEST(Trainer, TrainsOnShardsWritesRunDirectoryAndCheckpoint) {
  testing::SharedTempDir dir;
  const auto data_dir = dir.path() / "data";
  testing::TinyDatasetSpec spec;
  spec.classes = 3;
  spec.train_per_class = 6;  // 18 records: 9 per rank at np 2
  spec.val_per_class = 3;    // 9 records: uneven over 2 and 4 ranks
  spec.size = 64;
  auto info = world_info();
  if (info.rank == 0) testing::write_tiny_dataset(data_dir, spec);
  MPI_Barrier(MPI_COMM_WORLD);

  config::Config cfg;
  cfg.data.dir = data_dir.string();
  cfg.train.out_dir = (dir.path() / "runs").string();
  cfg.train.run_name = "t";
  cfg.train.batch_size = 2;
  cfg.train.epochs = 2;
  cfg.train.max_steps = 3;  // stops inside epoch 2 when 18/world/2 < 3
  cfg.train.log_every = 1;
  cfg.train.threads = 1;
  cfg.data.workers = 1;
  cfg.train.device = "cpu";
  cfg.validate();
  TrainResult r = run_train(cfg, info);
  EXPECT_EQ(r.steps, 3);
  EXPECT_EQ(r.val.count, 9.0) << "every validation record counted exactly once";
  EXPECT_TRUE(std::isfinite(r.val.mean_loss()));
  if (info.rank == 0) {
    const auto run = dir.path() / "runs" / "t";
    EXPECT_TRUE(std::filesystem::exists(run / "config.ini"));
    EXPECT_TRUE(std::filesystem::exists(run / "summary.json"));
    EXPECT_TRUE(std::filesystem::exists(run / "checkpoints" / "last.pt"));
    std::ifstream metrics(run / "metrics.jsonl");
    int lines = 0;
    for (std::string l; std::getline(metrics, l);) ++lines;
    EXPECT_GE(lines, 4);  // 3 step records + at least one epoch record
    CheckpointReader reader(run / "checkpoints" / "last.pt");
    EXPECT_EQ(reader.meta().step, 3);
    auto model = models::make_classifier(config::from_ini(reader.meta().config_ini).model, 3, 64);
    reader.load_model(*model);
    auto& head = dynamic_cast<models::WiseHeadImpl&>(model->head());
    EXPECT_GE(head.depthwise->weight.min().item<float>(), 0.0f);
    // The saved model is the one every rank evaluated (BatchNorm statistics synchronised first).
    comm::MpiCommunicator self(MPI_COMM_SELF);
    EvalOptions eo;
    eo.batch_size = 2;
    Tally again = evaluate(model, data::ShardSet(data_dir, "val"), self, torch::kCPU, eo);
    EXPECT_NEAR(again.mean_loss(), r.val.mean_loss(), 1e-5);
    EXPECT_EQ(again.top1, r.val.top1);
  }
}

TEST(Evaluate, CountsEveryRecordOnceAndMatchesASingleRank) {
  testing::SharedTempDir dir;
  testing::TinyDatasetSpec spec;
  spec.classes = 7;
  spec.train_per_class = 1;
  spec.val_per_class = 1;  // 7 records: not divisible by 2 or 4
  spec.size = 32;
  if (world_info().rank == 0) testing::write_tiny_dataset(dir.path(), spec);
  MPI_Barrier(MPI_COMM_WORLD);
  data::ShardSet set(dir.path(), "val");
  config::ModelConfig mc;
  torch::manual_seed(5);
  auto model = models::make_classifier(mc, 7, 32);
  comm::MpiCommunicator world, self(MPI_COMM_SELF);
  EvalOptions eo;
  eo.batch_size = 2;
  Tally all = evaluate(model, set, world, torch::kCPU, eo);
  Tally one = evaluate(model, set, self, torch::kCPU, eo);
  EXPECT_EQ(all.count, 7.0);
  EXPECT_EQ(all.top1, one.top1);
  EXPECT_EQ(all.top5, one.top5);
  EXPECT_NEAR(all.loss_sum, one.loss_sum, 1e-4);
}

}  // namespace
}  // namespace wisesr::train
