// Gradient synchronisation: W ranks x batch b must reach the same weights as 1 rank x batch W*b.
// Tolerance: float32, |dist - ref| <= 1e-5 * (1 + |ref|) per element after k = 3 SGD-momentum steps
// (the only difference is the summation order of the all-reduce). BatchNorm runs in eval mode here:
// its batch statistics are rank-local by design (see comm/grad_sync.h), so with training-mode BN the
// two set-ups are not mathematically equal.

#include <gtest/gtest.h>

#include "comm/grad_sync.h"
#include "comm/mpi_communicator.h"
#include "models/classifier.h"
#include "mpi_test_util.h"

namespace wisesr::comm {
namespace {

namespace F = torch::nn::functional;

models::Classifier make_model(const std::string& head) {
  config::ModelConfig mc;
  mc.backbone = "resnet-tiny";
  mc.head = head;
  torch::manual_seed(7);
  return models::make_classifier(mc, 5, 64);
}

void check_equivalence(const std::string& head, size_t bucket_bytes) {
  MpiCommunicator comm;
  const int world = comm.size(), rank = comm.rank();
  const int64_t b = 3, steps = 3;
  auto dist = make_model(head), ref = make_model(head);
  dist->eval();
  ref->eval();
  auto opts = torch::optim::SGDOptions(0.05).momentum(0.9);
  torch::optim::SGD opt_d(dist->parameters(), opts), opt_r(ref->parameters(), opts);
  GradSync sync(dist->parameters(), comm, bucket_bytes);
  for (int64_t s = 0; s < steps; ++s) {
    torch::manual_seed(100 + s);  // every rank draws the same global batch
    auto x = torch::randn({world * b, 3, 64, 64});
    auto y = torch::randint(0, 5, {world * b}, torch::kLong);
    opt_r.zero_grad();
    F::cross_entropy(ref->forward(x), y).backward();
    opt_r.step();
    ref->apply_constraints();
    opt_d.zero_grad();
    F::cross_entropy(dist->forward(x.narrow(0, rank * b, b)), y.narrow(0, rank * b, b)).backward();
    sync.synchronize();
    opt_d.step();
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
  check_equivalence("wise", GradSync::kDefaultBucketBytes);
}

TEST(GradSync, AwkwardBucketSizesGiveTheSameResult) {
  check_equivalence("gap", 1000);  // smaller than most tensors: one bucket per parameter
  check_equivalence("wise", 70 * 1024);
}

TEST(GradSync, BucketsFollowReverseRegistrationOrderAndRespectTheLimit) {
  MpiCommunicator comm;
  auto model = make_model("wise");
  GradSync one(model->parameters(), comm, size_t{1} << 30);
  EXPECT_EQ(one.num_buckets(), 1u);
  GradSync many(model->parameters(), comm, 1);
  EXPECT_EQ(many.num_buckets(), model->parameters().size());
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
