// Whole-step CUDA graphs: when they are used (configuration rules, any machine) and, on a GPU, that
// replaying a captured step trains exactly like running it eagerly. The GPU test skips without one.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "models/classifier.h"
#include "models/heads.h"
#include "train/optimizer.h"
#include "train/runtime.h"
#include "train/step_graph.h"

namespace wisesr::train {
namespace {

// A communicator that only says what it is (graph_unsupported_reason asks no more of it).
class NamedCommunicator final : public comm::Communicator {
 public:
  NamedCommunicator(std::string name, bool capturable) : name_(std::move(name)), capturable_(capturable) {}
  int rank() const override { return 0; }
  int size() const override { return 2; }
  std::string name() const override { return name_; }
  bool capturable() const override { return capturable_; }
  void all_reduce(torch::Tensor&, comm::ReduceOp) override {}
  void broadcast(torch::Tensor&, int) override {}
  void barrier() override {}

 private:
  std::string name_;
  bool capturable_;
};

TEST(StepGraph, UsedOnlyWhereTheStepNeverWaitsForTheHost) {
  const torch::Device cpu(torch::kCPU), cuda(torch::kCUDA, 0);
  const NamedCommunicator mpi("mpi", false), nccl("nccl", true);
  EXPECT_EQ(graph_unsupported_reason(CudaGraph::kOff, cuda, Precision::kBf16, &nccl), "off");
  EXPECT_EQ(graph_unsupported_reason(CudaGraph::kAuto, cpu, Precision::kFp32, nullptr),
            "the run is on the CPU");
  EXPECT_NE(graph_unsupported_reason(CudaGraph::kAuto, cuda, Precision::kFp16, nullptr).find("loss scaling"),
            std::string::npos);
  EXPECT_NE(graph_unsupported_reason(CudaGraph::kAuto, cuda, Precision::kBf16, &mpi).find("mpi"),
            std::string::npos);
  // A CUDA LibTorch, as CI builds.
  EXPECT_EQ(graph_unsupported_reason(CudaGraph::kAuto, cuda, Precision::kBf16, &nccl), "");
  EXPECT_EQ(graph_unsupported_reason(CudaGraph::kOn, cuda, Precision::kFp32, nullptr), "");
  try {
    graph_unsupported_reason(CudaGraph::kOn, cpu, Precision::kFp32, nullptr);
    FAIL() << "--train.cuda_graph on accepted a CPU run";
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "--train.cuda_graph on: the run is on the CPU");
  }
  EXPECT_EQ(parse_enum<CudaGraph>("--train.cuda_graph", "on"), CudaGraph::kOn);
  EXPECT_THROW(parse_enum<CudaGraph>("--train.cuda_graph", "sometimes"), Error);
}

TEST(StepGraph, ReplaysTrainLikeEagerSteps) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA GPU";
  const torch::Device cuda(torch::kCUDA, 0);
  models::ModelOptions mc;  // resnet-tiny + wise: BatchNorm, the depthwise head and its clamp
  auto run = [&](bool graphed) {
    torch::manual_seed(5);
    auto model = models::make_classifier(mc, 7, 64);
    model->to(cuda);
    model->train();
    Optimizer optimizer(*model, OptimizerOptions{});
    torch::manual_seed(6);
    const auto x = torch::randn({8, 3, 64, 64}, torch::TensorOptions().device(cuda));
    const auto y = torch::randint(0, 7, {8}, torch::TensorOptions().dtype(torch::kLong).device(cuda));
    auto step = [&] {
      torch::Tensor logits;
      {
        AutocastScope autocast(cuda, Precision::kBf16);
        logits = model->forward(x);
      }
      torch::nn::functional::cross_entropy(logits.to(torch::kFloat), y).backward();
      optimizer.step(0.05);
      model->apply_constraints();
      optimizer.zero_grad();
    };
    constexpr int kSteps = 6;
    if (graphed) {
      StepGraph graph(cuda, step, /*warmup=*/3);  // 3 eager steps, then the capture (which runs nothing)
      for (int i = 3; i < kSteps; ++i) graph.replay();
    } else {
      for (int i = 0; i < kSteps; ++i) step();
    }
    torch::cuda::synchronize();
    std::vector<torch::Tensor> state;
    for (const auto& p : model->parameters()) state.push_back(p.detach().cpu().flatten());
    for (const auto& b : model->buffers()) state.push_back(b.detach().cpu().to(torch::kFloat).flatten());
    auto* head = dynamic_cast<models::WiseHeadImpl*>(&model->head());
    EXPECT_NE(head, nullptr);
    return std::pair{torch::cat(state), head ? head->depthwise->weight.detach().cpu() : torch::Tensor()};
  };
  const auto [eager, eager_kernel] = run(false);
  const auto [graphed, kernel] = run(true);
  // The same kernels on the same data, launched from a graph: equal up to cuDNN's algorithm choice.
  EXPECT_TRUE(torch::allclose(graphed, eager, 1e-3, 1e-4))
      << "max |difference| " << (graphed - eager).abs().max().item<double>();
  // The clamp ran inside the graph: the kernel (initialised N(0, 0.01), so half negative) is >= 0,
  // with the clamped entries exactly 0.
  ASSERT_TRUE(kernel.defined());
  EXPECT_GE(kernel.min().item<float>(), 0.0f);
  EXPECT_GT((kernel == 0).sum().item<int64_t>(), 0);
}

}  // namespace
}  // namespace wisesr::train
