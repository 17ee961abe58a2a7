// One training step, eager and static (what a CUDA graph captures): the static step trains like the eager
// one on the CPU (same batches, dropout draws, skipped records, clipping, label smoothing), the
// configurations that rule a graph out say why, and on a GPU a run whose steps replay a captured graph
// trains like an eager run (skips without a GPU).

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "comm/communicator.h"
#include "comm/grad_sync.h"
#include "core/error.h"
#include "models/classifier.h"
#include "models/heads.h"
#include "train/loss_scaler.h"
#include "train/optimizer.h"
#include "train/runtime.h"
#include "train/train_step.h"

namespace wisesr::train {
namespace {

// One rank without MPI: all-reduces that leave the tensors as they are (enqueued nowhere, so nothing
// stands in a CUDA graph's way: capturable).
class SoloCommunicator final : public comm::Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string name() const override { return "solo"; }
  bool capturable() const override { return true; }
  void all_reduce(torch::Tensor&, comm::ReduceOp) override {}
  void broadcast(torch::Tensor&, int) override {}
  void barrier() override {}
};

std::vector<data::Batch> make_batches(const torch::Device& device, int count, int n, int size) {
  std::vector<data::Batch> out;
  torch::manual_seed(77);
  for (int i = 0; i < count; ++i) {
    data::Batch b;
    b.images = torch::randn({n, 3, size, size}).to(device);
    b.labels = torch::randint(0, 7, {n}, torch::kLong).to(device);
    auto valid = torch::ones({n}, torch::kBool);
    if (i == 1) {  // a corrupt record the loader replaced by zeros
      valid[2] = false;
      b.images[2].zero_();
      b.num_invalid = 1;
    }
    b.valid = valid.to(device);
    out.push_back(b);
  }
  return out;
}

struct RunResult {
  torch::Tensor state;   // parameters and buffers, flattened, on the CPU
  torch::Tensor kernel;  // the Wise-SrNet depthwise kernel
  Tally tally;
  std::string describe;
  bool graphed = false;
};

RunResult train(const torch::Device& device, TrainStepOptions to, const std::vector<data::Batch>& batches,
                int image_size, const TrainStep::PhaseHook& phases = {}) {
  models::ModelOptions mc;              // resnet-tiny + wise: BatchNorm, the depthwise head and its clamp
  mc.head = "wise-dropout";             // dropout: the per-step seeds must line up too
  const TrainingStream stream(device);  // as the trainer: before GradSync and the first forward
  torch::manual_seed(5);
  auto model = models::make_classifier(mc, 7, image_size);
  model->to(device);
  model->train();
  Optimizer optimizer(*model, OptimizerOptions{});
  LossScaler scaler(device, false, 0);
  SoloCommunicator solo;
  comm::GradSyncOptions so;
  so.single_rank_collectives = true;  // hooks on every gradient accumulator, as with several ranks
  comm::GradSync sync(model->parameters(), solo, so);
  TrainStep step(model, optimizer, scaler, &sync, device, to);
  for (size_t i = 0; i < batches.size(); ++i) {
    const double lr =
        0.05 / static_cast<double>(1 + i);  // a changing rate: static steps read it from a tensor
    step.run(
        static_cast<int64_t>(i), lr, [&] { return batches[i]; }, phases);
  }
  RunResult r;
  r.tally = step.tally().take();
  r.describe = step.describe();
  r.graphed = step.graphed();
  std::vector<torch::Tensor> state;
  for (const auto& p : model->parameters()) state.push_back(p.detach().cpu().flatten());
  for (const auto& b : model->buffers()) state.push_back(b.detach().cpu().to(torch::kFloat).flatten());
  r.state = torch::cat(state);
  auto* head = dynamic_cast<models::WiseHeadImpl*>(&model->head());
  EXPECT_NE(head, nullptr);
  if (head) r.kernel = head->depthwise->weight.detach().cpu();
  return r;
}

TEST(TrainStep, StaticStepsTrainLikeEagerOnes) {
  const torch::Device cpu(torch::kCPU);
  const auto batches = make_batches(cpu, 5, 6, 32);
  TrainStepOptions to;
  to.label_smoothing = 0.1;
  to.clip_grad_norm = 0.5;
  const RunResult eager = train(cpu, to, batches, 32);
  to.force_static = true;
  const RunResult fixed = train(cpu, to, batches, 32);
  EXPECT_EQ(eager.describe, "eager (the run is on the CPU)");
  EXPECT_EQ(fixed.describe, "eager, static inputs (the run is on the CPU)");
  EXPECT_FALSE(fixed.graphed);
  // p -= lr * buf against p += -lr * buf, and a weighted mean against a plain one: rounding apart.
  EXPECT_TRUE(torch::allclose(fixed.state, eager.state, 1e-5, 1e-6))
      << "max |difference| " << (fixed.state - eager.state).abs().max().item<double>();
  EXPECT_FALSE(torch::allclose(eager.state, train(cpu, TrainStepOptions{}, batches, 32).state, 1e-5, 1e-6))
      << "clipping and label smoothing made no difference: the comparison above proves nothing";
  EXPECT_EQ(eager.tally.count, 5 * 6 - 1);  // the skipped record is not counted
  EXPECT_EQ(fixed.tally.count, eager.tally.count);
  EXPECT_EQ(fixed.tally.top1, eager.tally.top1);
  EXPECT_EQ(fixed.tally.top5, eager.tally.top5);
  EXPECT_NEAR(fixed.tally.loss_sum, eager.tally.loss_sum, 1e-4 * eager.tally.loss_sum);
  EXPECT_TRUE((fixed.kernel >= 0).all().item<bool>());  // the clamp ran after every static step
}

// Note [Phase timing]: with a phase hook the step is the same step (label smoothing, clipping, the clamp),
// run eagerly even where steps are otherwise static, and the hook sees its phases in order.
TEST(TrainStep, PhaseHookRunsTheRealStepEagerly) {
  const torch::Device cpu(torch::kCPU);
  const auto batches = make_batches(cpu, 3, 6, 32);
  TrainStepOptions to;
  to.label_smoothing = 0.1;
  to.clip_grad_norm = 0.5;
  const RunResult eager = train(cpu, to, batches, 32);
  std::vector<StepPhase> seen;
  to.force_static = true;  // the hook overrides it
  const RunResult timed = train(cpu, to, batches, 32, [&](StepPhase p) { seen.push_back(p); });
  EXPECT_TRUE(torch::equal(timed.state, eager.state))
      << "the breakdown must run the very step the run trains with";
  EXPECT_EQ(timed.tally.count, eager.tally.count);
  const std::vector<StepPhase> one = {StepPhase::kBatch, StepPhase::kForward, StepPhase::kBackward,
                                      StepPhase::kOptimizer};
  ASSERT_EQ(seen.size(), 3 * one.size());
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], one[i % one.size()]) << i;
}

TEST(TrainStep, FixedInputsAreReadInPlace) {
  const torch::Device cpu(torch::kCPU);
  const auto batches = make_batches(cpu, 2, 6, 32);
  const std::vector<data::Batch> same(3, batches[0]);  // one synthetic batch, step after step
  TrainStepOptions to;
  to.force_static = true;
  const RunResult copied = train(cpu, to, same, 32);
  to.fixed_inputs = true;
  const RunResult in_place = train(cpu, to, same, 32);
  EXPECT_TRUE(torch::equal(in_place.state, copied.state));
  EXPECT_EQ(in_place.tally.count, 3 * 6);
  try {
    train(cpu, to, batches, 32);  // other tensors on the second step: a caller bug, not silently stale data
    FAIL() << "fixed_inputs accepted a new batch";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("fixed_inputs"), std::string::npos) << e.message();
  }
}

TEST(TrainStep, ConfigurationsThatRuleOutAGraphSayWhy) {
  const torch::Device cpu(torch::kCPU), cuda(torch::kCUDA, 0);
  auto model = models::make_classifier(models::ModelOptions{}, 7, 32);
  Optimizer optimizer(*model, OptimizerOptions{});
  LossScaler scaler(cpu, false, 0);
  SoloCommunicator solo;
  comm::GradSync sync(model->parameters(), solo);
  auto describe = [&](const torch::Device& device, TrainStepOptions to) {
    return TrainStep(model, optimizer, scaler, &sync, device, to).describe();
  };
  TrainStepOptions to;
  to.accum_steps = 2;
  EXPECT_EQ(describe(cuda, to), "eager (gradient accumulation (accum_steps 2))");
  to.cuda_graph = CudaGraph::kOn;
  try {
    describe(cuda, to);
    FAIL() << "--train.cuda_graph on accepted gradient accumulation";
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "--train.cuda_graph on: gradient accumulation (accum_steps 2) is not captured");
  }
  to.accum_steps = 1;
  try {
    describe(cpu, to);
    FAIL() << "--train.cuda_graph on accepted a CPU run";
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "--train.cuda_graph on: the run is on the CPU");
  }
  to.cuda_graph = CudaGraph::kOff;
  EXPECT_EQ(describe(cuda, to), "eager (off)");
  to.cuda_graph = CudaGraph::kAuto;
  to.precision = Precision::kFp16;
  EXPECT_NE(describe(cuda, to).find("loss scaling"), std::string::npos);
}

TEST(TrainStep, OptimizerRateTensorMatchesTheHostRate) {
  models::ModelOptions mc;
  torch::manual_seed(9);
  auto a = models::make_classifier(mc, 7, 32), b = models::make_classifier(mc, 7, 32);
  for (size_t i = 0; i < a->parameters().size(); ++i) b->parameters()[i].data().copy_(a->parameters()[i]);
  for (const OptimizerKind kind : {OptimizerKind::kSgd, OptimizerKind::kLars}) {
    OptimizerOptions oo;
    oo.optimizer = kind;
    oo.weight_decay = 1e-4;
    Optimizer host(*a, oo), device(*b, oo);
    const auto x = torch::randn({4, 3, 32, 32});
    const auto y = torch::randint(0, 7, {4}, torch::kLong);
    for (int s = 0; s < 3; ++s) {
      const double lr = 0.1 / (s + 1);
      for (auto* m : {&a, &b}) torch::nn::functional::cross_entropy((*m)->forward(x), y).backward();
      host.step(lr);
      device.step(torch::full({}, lr, torch::kFloat));
      host.zero_grad();
      device.zero_grad();
    }
    for (size_t i = 0; i < a->parameters().size(); ++i)
      EXPECT_TRUE(torch::allclose(a->parameters()[i], b->parameters()[i], 1e-5, 1e-7))
          << to_string(kind) << " tensor " << i;
  }
}

TEST(TrainStep, GraphedStepsTrainLikeEagerOnes) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA GPU";
  const torch::Device cuda(torch::kCUDA, 0);
  const auto batches = make_batches(cuda, 7, 8, 64);
  TrainStepOptions to;
  to.precision = Precision::kBf16;
  to.channels_last = true;
  to.clip_grad_norm = 1.0;
  to.eager_steps = 1;  // step 0 eager, step 1 warms up and captures, steps 2-6 replay
  to.cuda_graph = CudaGraph::kOff;
  const RunResult eager = train(cuda, to, batches, 64);
  to.cuda_graph = CudaGraph::kOn;
  const RunResult graphed = train(cuda, to, batches, 64);
  to.cuda_graph = CudaGraph::kOff;
  to.force_static = true;
  const RunResult fixed = train(cuda, to, batches, 64);
  EXPECT_TRUE(graphed.graphed) << graphed.describe;
  EXPECT_FALSE(eager.graphed);
  // The same kernels from a graph as eagerly, static inputs: equal up to cuDNN's algorithm choice.
  EXPECT_TRUE(torch::allclose(graphed.state, fixed.state, 1e-3, 1e-4))
      << "graph vs static eager: max |difference| "
      << (graphed.state - fixed.state).abs().max().item<double>();
  EXPECT_TRUE(torch::allclose(graphed.state, eager.state, 1e-3, 1e-4))
      << "graph vs eager: max |difference| " << (graphed.state - eager.state).abs().max().item<double>();
  // The metrics accumulated inside the graph reached the tally; the skipped record was not counted.
  EXPECT_EQ(graphed.tally.count, 7 * 8 - 1);
  EXPECT_NEAR(graphed.tally.loss_sum, eager.tally.loss_sum, 1e-2 * eager.tally.loss_sum);
  EXPECT_TRUE((graphed.kernel >= 0).all().item<bool>());  // the clamp ran inside the graph
  EXPECT_TRUE((graphed.kernel == 0).any().item<bool>());
}

}  // namespace
}  // namespace wisesr::train
