// Gradient synchronisation: W ranks x batch b (x accumulation a) must reach the same weights as 1 rank
// x batch W*b*a. Tolerance: float32, |dist - ref| <= 1e-5 * (1 + |ref|) per element after k = 3
// SGD-momentum steps (the only difference is the summation order of the all-reduce). The distributed
// side uses the trainer's own optimizer (in-place zero_grad keeps gradients as bucket views), the
// reference torch.optim.SGD. BatchNorm runs in eval mode here:
// its batch statistics are rank-local by design (see comm/grad_sync.h), so with training-mode BN the
// two set-ups are not mathematically equal.

#include <gtest/gtest.h>

#include "comm/grad_sync.h"
#include "comm/launch_trace.h"
#include "comm/mpi_communicator.h"
#include "core/error.h"
#include "train/optimizer.h"

#include <set>
#include "models/classifier.h"
#include "mpi_test_util.h"

namespace wisesr::comm {
namespace {

namespace F = torch::nn::functional;

models::Classifier make_model(const std::string& head) {
  models::ModelOptions mc;
  mc.backbone = "resnet-tiny";
  mc.head = head;
  torch::manual_seed(7);
  return models::make_classifier(mc, 5, 64);
}

GradSyncOptions buckets(size_t bytes, size_t first) {
  GradSyncOptions o;
  o.bucket_bytes = bytes;
  o.first_bucket_bytes = first;
  return o;
}

void check_equivalence(const std::string& head, GradSyncOptions options, int64_t accum = 1) {
  MpiCommunicator comm;
  const int world = comm.size(), rank = comm.rank();
  const int64_t b = 3, steps = 3;
  auto dist = make_model(head), ref = make_model(head);
  dist->eval();
  ref->eval();
  torch::optim::SGD opt_r(ref->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
  train::OptimizerOptions oo;
  oo.momentum = 0.9;
  train::Optimizer opt_d(*dist, oo);
  options.check_collectives = true;  // every rank launched the same buckets in the same order, each step
  GradSync sync(dist->parameters(), comm, options);
  for (int64_t s = 0; s < steps; ++s) {
    torch::manual_seed(100 + s);  // every rank draws the same global batch
    const int64_t global = world * b * accum;
    auto x = torch::randn({global, 3, 64, 64});
    auto y = torch::randint(0, 5, {global}, torch::kLong);
    opt_r.zero_grad();
    F::cross_entropy(ref->forward(x), y).backward();
    opt_r.step();
    ref->apply_constraints();
    opt_d.zero_grad();
    // As the trainer lays out samples: rank r's step slice is [r*b*accum, (r+1)*b*accum), micro-batches in
    // order.
    for (int64_t m = 0; m < accum; ++m) {
      sync.set_sync(m + 1 == accum);
      const int64_t first = rank * b * accum + m * b;
      (F::cross_entropy(dist->forward(x.narrow(0, first, b)), y.narrow(0, first, b)) /
       static_cast<double>(accum))
          .backward();
    }
    sync.synchronize();
    if (world > 1 && options.overlap) {
      EXPECT_GT(sync.launched_early(), 0u) << "no bucket overlapped backward";
    }
    opt_d.step(0.05);
    dist->apply_constraints();
  }
  auto pd = dist->named_parameters(), pr = ref->named_parameters();
  for (const auto& kv : pr) {
    const auto& d = pd[kv.key()];
    const double tol_violation =
        ((d - kv.value()).abs() - 1e-5 * (1 + kv.value().abs())).max().item<double>();
    EXPECT_LE(tol_violation, 0.0) << kv.key() << " differs beyond tolerance (world " << world << ")";
    EXPECT_TRUE(testing::same_on_every_rank(d)) << kv.key() << " differs between ranks";
  }
}

TEST(GradSync, DistributedStepsEqualOneRankWithTheGlobalBatch) {
  check_equivalence("wise", GradSyncOptions{});
}

TEST(GradSync, AwkwardBucketSizesGiveTheSameResult) {
  check_equivalence("gap", buckets(1000, 1000));  // smaller than most tensors: one bucket per parameter
  check_equivalence("wise", buckets(70 * 1024, 3000));
}

TEST(GradSync, GradientAccumulationEqualsTheLargerBatch) {
  check_equivalence("wise", buckets(70 * 1024, 10 * 1024), /*accum=*/3);
}

TEST(GradSync, WithoutOverlapEverythingHappensInSynchronize) {
  auto o = buckets(70 * 1024, 10 * 1024);
  o.overlap = false;
  check_equivalence("wise", o, 2);
}

TEST(GradSync, BucketsFollowReverseRegistrationOrderAndRespectTheLimit) {
  MpiCommunicator comm;
  auto model = make_model("wise");
  GradSync one(model->parameters(), comm, buckets(size_t{1} << 30, size_t{1} << 30));
  EXPECT_EQ(one.num_buckets(), 1u);
  GradSync many(model->parameters(), comm, buckets(1, 1));
  EXPECT_EQ(many.num_buckets(), model->parameters().size());
  // The first bucket (the classifier, whose gradients come first) is small; the rest up to the limit.
  auto model2 = make_model("wise");
  GradSync split(model2->parameters(), comm, buckets(64 * 1024, 4 * 1024));
  auto sizes = split.bucket_bytes();
  ASSERT_GE(sizes.size(), 3u);
  auto params = model2->parameters();
  const size_t last_bytes = static_cast<size_t>(params.back().numel()) * 4;
  EXPECT_LE(sizes[0], std::max<size_t>(4 * 1024, last_bytes)) << "the first bucket holds the last parameters";
  size_t total = 0, expected = 0;
  for (size_t s : sizes) total += s;
  for (auto& p : params) expected += static_cast<size_t>(p.numel()) * 4;
  EXPECT_EQ(total, expected);
}

TEST(GradSync, CollectivesCanBeForcedWithOneRankForBenchmarks) {
  MpiCommunicator comm;
  auto model = make_model("wise");
  model->eval();
  GradSyncOptions o = buckets(64 * 1024, 4 * 1024);
  o.single_rank_collectives = true;
  GradSync sync(model->parameters(), comm, o);
  torch::manual_seed(4);
  F::cross_entropy(model->forward(torch::randn({2, 3, 64, 64})), torch::randint(0, 5, {2}, torch::kLong))
      .backward();
  sync.synchronize();
  EXPECT_GT(sync.launched_early(), 0u) << "buckets are launched from the hooks whatever the world size";
}

TEST(GradSync, GradientsAreViewsIntoTheBuckets) {
  MpiCommunicator comm;
  auto model = make_model("wise");
  GradSync sync(model->parameters(), comm);
  std::set<const void*> storages;
  for (auto& p : model->parameters()) {
    ASSERT_TRUE(p.grad().defined());
    storages.insert(p.grad().storage().data());
  }
  EXPECT_EQ(storages.size(), sync.num_buckets());
}

TEST(GradSync, ParametersWithoutGradientsCountAsZero) {
  // Rank 0 leaves the head without a gradient; the average must still be taken over every rank.
  MpiCommunicator comm;
  auto p = torch::ones({4}, torch::requires_grad());
  GradSync sync({p}, comm);
  if (comm.rank() != 0) p.mutable_grad() = torch::full({4}, 2.0);
  sync.synchronize();
  const double expected = 2.0 * (comm.size() - 1) / comm.size();
  EXPECT_NEAR(p.grad()[0].item<double>(), expected, 1e-6);
}

// The check behind --train.check_collectives, fed rank-dependent sequences by hand (real collectives in
// another order would be an erroneous MPI program): every rank must throw the same message, naming the
// first all-reduce that differs, rank 0's launch there and the other rank's.
TEST(LaunchTrace, RanksThatLaunchDifferentlyFailEverywhereNamingTheFirstDifference) {
  MpiCommunicator comm;
  const int rank = comm.rank(), world = comm.size();
  auto trace = [](std::vector<LaunchTrace::Launch> seq) {
    LaunchTrace t;
    for (const auto& l : seq) t.record(l.bucket, l.bytes);
    return t;
  };
  EXPECT_NO_THROW(trace({{0, 64}, {1, 4096}, {2, 1024}}).verify(comm, "same everywhere"));
  EXPECT_NO_THROW(trace({}).verify(comm, "nothing launched anywhere"));

  // Odd ranks launch buckets 1 and 2 in the other order.
  const LaunchTrace swapped =
      rank % 2 ? trace({{0, 64}, {2, 1024}, {1, 4096}}) : trace({{0, 64}, {1, 4096}, {2, 1024}});
  if (world == 1) {
    EXPECT_NO_THROW(swapped.verify(comm, "step 7"));
  } else {
    try {
      swapped.verify(comm, "step 7");
      ADD_FAILURE() << "buckets launched in another order on rank 1 went unnoticed";
    } catch (const Error& e) {
      EXPECT_EQ(e.message(),
                "step 7: ranks launched different gradient all-reduces (--train.check_collectives): "
                "all-reduce #1 of "
                "the step was bucket 1 (4096 bytes) on rank 0 (expected) but bucket 2 (1024 bytes) on rank 1 "
                "(got)");
    }
  }

  // The last rank leaves out the last bucket.
  LaunchTrace missing = trace({{0, 64}, {1, 4096}});
  if (rank != world - 1 || world == 1) missing.record(2, 1024);
  if (world == 1) {
    EXPECT_NO_THROW(missing.verify(comm, "step 8"));
  } else {
    try {
      missing.verify(comm, "step 8");
      ADD_FAILURE() << "a bucket missing on rank " << world - 1 << " went unnoticed";
    } catch (const Error& e) {
      EXPECT_NE(
          e.message().find("all-reduce #2 of the step was bucket 2 (1024 bytes) on rank 0 (expected) but "
                           "nothing (it launched 2) on rank " +
                           std::to_string(world - 1) + " (got)"),
          std::string::npos)
          << e.message();
    }
  }
  missing.clear();
  EXPECT_TRUE(missing.launches().empty());
}

TEST(Communicator, AllReduceAndBroadcast) {
  MpiCommunicator comm;
  auto t = torch::full({3}, static_cast<double>(comm.rank() + 1));
  comm.all_reduce(t);
  const double n = comm.size();
  EXPECT_DOUBLE_EQ(t[0].item<double>(), n * (n + 1) / 2);
  auto m = torch::tensor({static_cast<int64_t>(comm.rank())});
  comm.all_reduce(m, ReduceOp::kMax);
  EXPECT_EQ(m.item<int64_t>(), comm.size() - 1);
  auto bf = torch::full({5}, static_cast<float>(comm.rank()), torch::kBFloat16);
  comm.all_reduce(bf);  // no MPI type for bf16: widened to float and back
  EXPECT_FLOAT_EQ(bf[4].item<float>(), static_cast<float>(n * (n - 1) / 2));
  auto b = torch::full({2, 2}, static_cast<float>(comm.rank() == 0 ? 42 : -1));
  comm.broadcast(b, 0);
  EXPECT_TRUE(torch::all(b == 42).item<bool>());
}

}  // namespace
}  // namespace wisesr::comm
