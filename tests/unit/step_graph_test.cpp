// Whole-step CUDA graphs: when they are used (configuration rules, any machine) and, on a GPU, that
// replaying a captured step trains exactly like running it eagerly. The GPU test skips without one.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "config/config.h"
#include "core/error.h"
#include "models/classifier.h"
#include "models/heads.h"
#include "train/optimizer.h"
#include "train/runtime.h"
#include "train/step_graph.h"

namespace wisesr::train {
namespace {

TEST(StepGraph, UsedOnlyWhereTheStepNeverWaitsForTheHost) {
  const torch::Device cpu(torch::kCPU), cuda(torch::kCUDA, 0);
  EXPECT_EQ(graph_unsupported_reason("off", cuda, "bf16", "nccl"), "off");
  EXPECT_EQ(graph_unsupported_reason("auto", cpu, "fp32", "none"), "the run is on the CPU");
  EXPECT_NE(graph_unsupported_reason("auto", cuda, "fp16", "none").find("loss scaling"), std::string::npos);
  EXPECT_NE(graph_unsupported_reason("auto", cuda, "bf16", "mpi").find("mpi"), std::string::npos);
  EXPECT_EQ(graph_unsupported_reason("auto", cuda, "bf16", "nccl"), "");  // a CUDA LibTorch, as CI builds
  EXPECT_EQ(graph_unsupported_reason("on", cuda, "fp32", "none"), "");
  try {
    graph_unsupported_reason("on", cpu, "fp32", "none");
    FAIL() << "--cuda-graph on accepted a CPU run";
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "--cuda-graph on: the run is on the CPU");
  }
  EXPECT_THROW(graph_unsupported_reason("sometimes", cuda, "bf16", "none"), Error);
}

TEST(StepGraph, ReplaysTrainLikeEagerSteps) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA GPU";
  const torch::Device cuda(torch::kCUDA, 0);
  config::ModelConfig mc;  // resnet-tiny + wise: BatchNorm, the depthwise head and its clamp
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
        AutocastScope autocast(cuda, "bf16");
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
