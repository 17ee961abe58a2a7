// Multi-rank behaviour of the training loop: the Wise-SrNet clamp after every step, the trainer end to
// end on real shards, evaluation that counts every validation record exactly once, and bench train fed
// from shards.

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <regex>
#include <set>

#include "comm/grad_sync.h"
#include "comm/mpi_communicator.h"
#include "config/cli.h"
#include "core/error.h"
#include "core/stop_signal.h"
#include "data/sampler.h"
#include "data/shard_set.h"
#include "models/classifier.h"
#include "mpi_test_util.h"
#include "tools/train_bench.h"
#include "train/checkpoint.h"
#include "train/evaluator.h"
#include "train/optimizer.h"
#include "train/train_loop.h"

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

// What every multi-rank training test here runs: the dataset in data_dir, run directories under runs_dir,
// batch 2 per rank, one thread and one worker on the CPU, every step logged, collectives checked.
config::Config tiny_cpu_run(const std::filesystem::path& data_dir, const std::filesystem::path& runs_dir,
                            const std::string& run) {
  config::Config c;
  c.data.dir = data_dir.string();
  c.train.out_dir = runs_dir.string();
  c.train.run_name = run;
  c.train.batch_size = 2;
  c.train.log_every = 1;
  c.runtime.threads = 1;
  c.data.workers = 1;
  c.runtime.device = DeviceKind::kCpu;
  c.comm.check_collectives = true;
  return c;
}

TEST(Clamp, KernelIsNonNegativeAfterEveryStepWhileBiasMayBeNegative) {
  comm::MpiCommunicator comm;
  models::ModelOptions mc;
  torch::manual_seed(11);
  auto model = models::make_classifier(mc, 4, 64);
  auto& head = dynamic_cast<models::WiseHeadImpl&>(model->head());
  {
    torch::NoGradGuard g;  // start from a kernel that violates the constraint everywhere
    head.depthwise->weight.fill_(-0.1);
    head.depthwise->bias.fill_(-0.3);
  }
  Optimizer opt(*model, {});
  comm::GradSync sync(model->parameters(), comm);
  bool clamped_to_zero = false;
  for (int step = 0; step < 5; ++step) {
    torch::manual_seed(1000 + step * 31 + comm.rank());  // different data per rank
    opt.zero_grad();
    F::cross_entropy(model->forward(torch::randn({4, 3, 64, 64})), torch::randint(0, 4, {4}, torch::kLong))
        .backward();
    sync.synchronize();
    opt.step(0.01);
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

  config::Config cfg = tiny_cpu_run(data_dir, dir.path() / "runs", "t");
  cfg.train.epochs = 2;
  cfg.train.max_steps = 3;  // stops inside epoch 2 when 18/world/2 < 3
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

TEST(TrainBench, RealShardsFeedTheStepOnEveryRankWithTheDataWaitReported) {
  testing::SharedTempDir dir;
  testing::TinyDatasetSpec spec;
  spec.classes = 3;
  spec.train_per_class = 8;  // 24 records: 3 global batches of 2 x 4 ranks
  spec.size = 32;
  if (world_info().rank == 0) testing::write_tiny_dataset(dir.path(), spec);
  MPI_Barrier(MPI_COMM_WORLD);
  config::BenchTrainConfig cfg;
  cfg.model.backbone = "resnet-tiny";
  cfg.data.image_size = 32;
  cfg.train.batch_size = 2;
  cfg.classes = 3;
  cfg.steps = 4;  // more batches than one epoch holds on 4 ranks: the bench goes on into the next
  cfg.warmup = 1;
  cfg.breakdown_steps = 1;
  cfg.runtime.device = DeviceKind::kCpu;
  cfg.runtime.threads = 1;
  cfg.data.workers = 1;
  cfg.data.dir = dir.path().string();
  cfg.validate();
  const tools::TrainBenchResult r = tools::run_train_bench(cfg, world_info());
  EXPECT_EQ(r.input, "shards");
  EXPECT_EQ(r.decode, "cpu");
  EXPECT_GE(r.data_wait_frac, 0.0);
  EXPECT_LT(r.data_wait_frac, 1.0);
  EXPECT_GT(r.img_per_s, 0.0);
  EXPECT_NE(tools::format_train_bench(cfg, r).find("input shards (decode cpu), data wait"),
            std::string::npos);
  cfg.classes = 2;  // the dataset has 3
  EXPECT_THROW(tools::run_train_bench(cfg, world_info()), Error);
  cfg.classes = 3;
  cfg.train.batch_size = 16;  // more than one global batch of records on any world size > 1
  if (world_info().world_size > 1) {
    EXPECT_THROW(tools::run_train_bench(cfg, world_info()), Error);
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
  models::ModelOptions mc;
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
  // Per class, reduced like the tally: rows = each class's samples, the diagonal = top-1, equal to one
  // rank's.
  torch::Tensor confusion_all, confusion_one;
  eo.confusion = &confusion_all;
  const Tally again = evaluate(model, set, world, torch::kCPU, eo);
  eo.confusion = &confusion_one;
  evaluate(model, set, self, torch::kCPU, eo);
  ASSERT_EQ(confusion_all.sizes(), torch::IntArrayRef({7, 7}));
  EXPECT_TRUE(torch::equal(confusion_all, confusion_one));
  EXPECT_TRUE(
      torch::equal(confusion_all.sum(1), torch::ones({7}, torch::kLong)));  // one val record per class
  EXPECT_EQ(confusion_all.diagonal().sum().item<int64_t>(), static_cast<int64_t>(again.top1));
  EXPECT_EQ(again.top1, all.top1);
}

TEST(Evaluate, ASkippedCorruptRecordIsNotCountedAndTheRestScoreAsWithoutIt) {
  // 7 records, record 3 undecodable: the loader skips it (zeros, valid = false); the tally must leave it
  // out, on one rank and on many, exactly as if the split had never held it.
  testing::SharedTempDir dir;
  testing::TinyDatasetSpec spec;
  spec.classes = 7;
  spec.train_per_class = 1;
  spec.val_per_class = 1;
  spec.size = 32;
  spec.corrupt_val = {3};
  testing::TinyDatasetSpec without = spec;
  without.corrupt_val.clear();
  without.omit_val = {3};
  if (world_info().rank == 0) {
    testing::write_tiny_dataset(dir.path() / "corrupt", spec);
    testing::write_tiny_dataset(dir.path() / "without", without);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  const data::ShardSet corrupt(dir.path() / "corrupt", "val"), clean(dir.path() / "without", "val");
  ASSERT_EQ(corrupt.size(), 7u);
  ASSERT_EQ(clean.size(), 6u);
  models::ModelOptions mc;
  torch::manual_seed(5);
  auto model = models::make_classifier(mc, 7, 32);
  comm::MpiCommunicator world, self(MPI_COMM_SELF);
  EvalOptions eo;
  eo.batch_size = 2;
  eo.max_bad_records = 1;
  const Tally reference = evaluate(model, clean, self, torch::kCPU, eo);
  ASSERT_EQ(reference.count, 6.0);
  for (comm::Communicator* c :
       {static_cast<comm::Communicator*>(&self), static_cast<comm::Communicator*>(&world)}) {
    torch::Tensor confusion;
    eo.confusion = &confusion;
    const Tally t = evaluate(model, corrupt, *c, torch::kCPU, eo);
    eo.confusion = nullptr;
    EXPECT_EQ(t.count, 6.0) << "the skipped record counted (" << c->size() << " rank(s))";
    EXPECT_EQ(confusion.sum().item<int64_t>(), 6) << "the skipped record in the confusion matrix";
    EXPECT_EQ(confusion[3].sum().item<int64_t>(), 0) << "class 3's only record was the corrupt one";
    EXPECT_EQ(t.top1, reference.top1) << c->size() << " rank(s)";
    EXPECT_EQ(t.top5, reference.top5) << c->size() << " rank(s)";
    EXPECT_NEAR(t.loss_sum, reference.loss_sum, 1e-4) << c->size() << " rank(s)";
  }
}

// ---- what each rank reads ------------------------------------------------------------------------

// Every record of both splits is undecodable, so each rank's loader warns once per record it reads
// ("skipping corrupt record 0 of 'train-17.h5'", one record per shard): its stderr is the list of what
// that rank read, in training and in the evaluation after the epoch.
class RankReadsTest : public ::testing::Test {
 protected:
  static constexpr int kTrain = 27, kVal = 9;  // the train tail (27 mod the global batch) is dropped
  static constexpr int kClasses = 3;           // training refuses a dataset of one class

  void SetUp() override {
    info_ = world_info();
    testing::TinyDatasetSpec spec;
    spec.classes = kClasses;
    spec.train_per_class = kTrain / kClasses;
    spec.val_per_class = kVal / kClasses;
    spec.size = 32;
    spec.shard_records = 1;
    for (int i = 0; i < kTrain; ++i) spec.corrupt_train.insert(i);
    for (int i = 0; i < kVal; ++i) spec.corrupt_val.insert(i);
    if (info_.rank == 0) testing::write_tiny_dataset(dir_.path() / "data", spec);
    MPI_Barrier(MPI_COMM_WORLD);
  }

  // The records of `split` named in this rank's warnings, gathered from every rank (index = rank).
  static std::vector<std::vector<int64_t>> reads_by_rank(const std::string& log, const std::string& split) {
    std::vector<int64_t> mine;
    const std::regex line("skipping corrupt record 0 of '" + split + "-([0-9]+)\\.h5'");
    for (std::sregex_iterator it(log.begin(), log.end(), line), end; it != end; ++it)
      mine.push_back(std::stoll((*it)[1].str()));
    int world = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &world);
    int n = static_cast<int>(mine.size());
    std::vector<int> counts(static_cast<size_t>(world)), offsets(static_cast<size_t>(world));
    MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
    int total = 0;
    for (int r = 0; r < world; ++r)
      offsets[static_cast<size_t>(r)] = total, total += counts[static_cast<size_t>(r)];
    std::vector<int64_t> all(static_cast<size_t>(total));
    MPI_Allgatherv(mine.data(), n, MPI_INT64_T, all.data(), counts.data(), offsets.data(), MPI_INT64_T,
                   MPI_COMM_WORLD);
    std::vector<std::vector<int64_t>> out(static_cast<size_t>(world));
    for (int r = 0; r < world; ++r)
      out[static_cast<size_t>(r)].assign(
          all.begin() + offsets[static_cast<size_t>(r)],
          all.begin() + offsets[static_cast<size_t>(r)] + counts[static_cast<size_t>(r)]);
    return out;
  }

  comm::ProcessGroupInfo info_;
  testing::SharedTempDir dir_;
};

TEST_F(RankReadsTest, TrainingRanksReadDisjointSlicesOfTheEpochPermutationAndEvaluationEveryRecordOnce) {
  config::Config cfg = tiny_cpu_run(dir_.path() / "data", dir_.path() / "runs", "reads");
  cfg.data.max_bad_records = 1000;
  cfg.train.epochs = 1;
  cfg.train.progress = Progress::kLines;
  cfg.validate();
  ::testing::internal::CaptureStderr();
  try {
    run_train(cfg, info_);
  } catch (...) {
    std::fputs(::testing::internal::GetCapturedStderr().c_str(), stderr);
    throw;
  }
  const std::string log = ::testing::internal::GetCapturedStderr();

  const auto train = reads_by_rank(log, "train");
  const uint64_t global = 2 * static_cast<uint64_t>(info_.world_size);
  const uint64_t steps = kTrain / global;
  const auto perm = data::epoch_permutation(kTrain, cfg.train.seed, 0);
  std::multiset<int64_t> expected(perm.begin(), perm.begin() + static_cast<std::ptrdiff_t>(steps * global));
  std::multiset<int64_t> seen;
  for (size_t r = 0; r < train.size(); ++r) {
    EXPECT_EQ(train[r].size(), steps * 2) << "rank " << r << " read another number of records";
    std::set<int64_t> distinct(train[r].begin(), train[r].end());
    EXPECT_EQ(distinct.size(), train[r].size()) << "rank " << r << " read a record twice";
    seen.insert(train[r].begin(), train[r].end());
  }
  EXPECT_EQ(seen, expected) << "the ranks' training records are not disjoint slices covering the epoch's "
                               "permutation (its first steps x global batch records)";

  const auto val = reads_by_rank(log, "val");
  std::multiset<int64_t> evaluated;
  for (size_t r = 0; r < val.size(); ++r) {
    const auto lo = static_cast<int64_t>(kVal * r / val.size()),
               hi = static_cast<int64_t>(kVal * (r + 1) / val.size());
    EXPECT_EQ(static_cast<int64_t>(val[r].size()), hi - lo) << "rank " << r;
    evaluated.insert(val[r].begin(), val[r].end());
  }
  std::multiset<int64_t> all_val;
  for (int64_t i = 0; i < kVal; ++i) all_val.insert(i);
  EXPECT_EQ(evaluated, all_val) << "evaluation must read every validation record exactly once over the ranks";
}

// ---- resume and preemption ----------------------------------------------------------------------

class ResumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    info_ = world_info();
    testing::TinyDatasetSpec spec;
    spec.classes = 3;
    spec.train_per_class = 8;  // 24 records: 12 / world steps per epoch at batch 2
    spec.val_per_class = 2;
    spec.size = 32;
    if (info_.rank == 0) testing::write_tiny_dataset(dir_.path() / "data", spec);
    MPI_Barrier(MPI_COMM_WORLD);
  }
  config::Config config(const std::string& run) const {
    config::Config c = tiny_cpu_run(dir_.path() / "data", dir_.path() / "runs", run);
    c.model.head = "wise-dropout";  // dropout: the per-step reseeding must make resumed draws identical
    c.augment.vflip = true;
    c.schedule.lr = 0.02;
    c.schedule.lr_decay_epochs = 1;
    c.optim.weight_decay = 1e-4;
    c.train.epochs = 2;
    c.train.progress = Progress::kLines;
    c.validate();
    return c;
  }
  int64_t steps_per_epoch() const { return 12 / info_.world_size; }
  std::filesystem::path checkpoints(const std::string& run) const {
    return dir_.path() / "runs" / run / "checkpoints";
  }
  // Rank 0 compares the final weights and buffers of two runs bit for bit.
  void expect_identical(const std::string& a, const std::string& b) {
    if (info_.rank != 0) return;
    CheckpointReader ra(checkpoints(a) / "last.pt"), rb(checkpoints(b) / "last.pt");
    EXPECT_EQ(ra.meta().step, rb.meta().step);
    auto cfg = config::from_ini(ra.meta().config_ini);
    auto ma = models::make_classifier(cfg.model, 3, 32), mb = models::make_classifier(cfg.model, 3, 32);
    ra.load_model(*ma);
    rb.load_model(*mb);
    auto pb = mb->named_parameters();
    for (const auto& kv : ma->named_parameters())
      EXPECT_TRUE(torch::equal(kv.value(), pb[kv.key()])) << kv.key();
    auto bb = mb->named_buffers();
    for (const auto& kv : ma->named_buffers())
      EXPECT_TRUE(torch::equal(kv.value(), bb[kv.key()])) << kv.key();
  }
  comm::ProcessGroupInfo info_;
  testing::SharedTempDir dir_;
};

TEST_F(ResumeTest, StopMidEpochAndResumeIsBitExact) {
  TrainResult full = run_train(config("full"), info_);
  EXPECT_EQ(full.steps, 2 * steps_per_epoch());

  auto first = config("split");
  first.train.max_steps = steps_per_epoch() + 1;  // one step into epoch 2
  TrainResult part = run_train(first, info_);
  EXPECT_EQ(part.steps, steps_per_epoch() + 1);
  auto second = config("split");
  second.train.resume = "auto";
  TrainResult rest = run_train(second, info_);
  EXPECT_EQ(rest.resumed_from_step, steps_per_epoch() + 1);
  EXPECT_EQ(rest.steps, full.steps);
  expect_identical("full", "split");
}

TEST_F(ResumeTest, ResumeFromAPeriodicCheckpointIsBitExact) {
  TrainResult full = run_train(config("full"), info_);
  // checkpoint_every writes a mid-epoch checkpoint after the first step of epoch 2; the job then "dies"
  // one step later: its newest checkpoint is removed, so resume auto continues from the periodic one.
  auto first = config("periodic");
  first.train.checkpoint_every = steps_per_epoch() + 1;
  first.train.max_steps = steps_per_epoch() + 2;
  run_train(first, info_);
  if (info_.rank == 0) {
    const auto step_file = [&](int64_t step) {
      const std::string n = std::to_string(step);
      return checkpoints("periodic") / ("step-" + std::string(10 - n.size(), '0') + n + ".pt");
    };
    EXPECT_TRUE(std::filesystem::exists(step_file(steps_per_epoch() + 1))) << "no periodic checkpoint";
    remove_checkpoint(step_file(steps_per_epoch() + 2));
  }
  MPI_Barrier(MPI_COMM_WORLD);
  auto second = config("periodic");
  second.train.resume = "auto";
  TrainResult rest = run_train(second, info_);
  EXPECT_EQ(rest.resumed_from_step, steps_per_epoch() + 1);
  EXPECT_EQ(rest.steps, full.steps) << "the periodic checkpoint recorded another sample position";
  expect_identical("full", "periodic");
}

TEST_F(ResumeTest, SignalOnOneRankStopsEveryRankAtTheSameStepWithACheckpoint) {
  TrainResult full = run_train(config("full"), info_);
  auto first = config("pre");
  first.train.fault = "term@" + std::to_string(info_.world_size - 1) + ":3";  // the last rank only
  TrainResult part = run_train(first, info_);
  EXPECT_TRUE(part.preempted);
  EXPECT_EQ(part.steps, 3) << "every rank stops after the step during which the signal arrived";
  StopSignalScope::reset();
  if (info_.rank == 0) {
    std::ifstream summary(dir_.path() / "runs" / "pre" / "summary.json");
    std::string text((std::istreambuf_iterator<char>(summary)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("\"preempted\""), std::string::npos) << text;
    EXPECT_TRUE(std::filesystem::exists(checkpoints("pre") / "step-0000000003.pt"));
  }
  auto second = config("pre");
  second.train.resume = "auto";
  TrainResult rest = run_train(second, info_);
  EXPECT_FALSE(rest.preempted);
  EXPECT_EQ(rest.resumed_from_step, 3);
  expect_identical("full", "pre");
}

TEST_F(ResumeTest, CorruptNewestCheckpointFallsBackToThePreviousOne) {
  auto first = config("c");
  first.train.max_steps = steps_per_epoch() + 1;
  first.train.keep_checkpoints = 2;
  run_train(first, info_);
  if (info_.rank == 0) {
    const auto newest =
        checkpoints("c") / ("step-" + std::string(10 - std::to_string(first.train.max_steps).size(), '0') +
                            std::to_string(first.train.max_steps) + ".pt");
    ASSERT_TRUE(std::filesystem::exists(newest));
    std::fstream f(newest, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(200);
    f.write("garbage", 7);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  auto second = config("c");
  second.train.resume = "auto";
  second.train.max_steps = steps_per_epoch() + 2;
  second.train.keep_checkpoints = 2;
  TrainResult rest = run_train(second, info_);
  EXPECT_EQ(rest.resumed_from_step, steps_per_epoch()) << "the epoch-end checkpoint before the corrupt one";
  EXPECT_EQ(rest.steps, steps_per_epoch() + 2);
  // Pruning keeps the newest two step checkpoints.
  if (info_.rank == 0) {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(checkpoints("c")))
      n += e.path().extension() == ".pt" && e.path().filename().string().rfind("step-", 0) == 0;
    EXPECT_EQ(n, 2);
    EXPECT_TRUE(std::filesystem::exists(checkpoints("c") / "best.pt"));
  }
}

TEST_F(ResumeTest, ExplicitCheckpointThatDoesNotExistIsAnError) {
  auto c = config("x");
  c.train.resume = (dir_.path() / "nope.pt").string();
  if (info_.world_size == 1) {
    EXPECT_THROW(run_train(c, info_), Error);
  }
}

}  // namespace
}  // namespace wisesr::train
