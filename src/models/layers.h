#pragma once
// Small building blocks shared by the backbones.

#include <torch/torch.h>

namespace wisesr::models {

/// Bias-free convolution (every backbone here follows its conv with BatchNorm).
inline torch::nn::Conv2d conv2d(int64_t in, int64_t out, int64_t k, int64_t stride = 1, int64_t pad = 0,
                                int64_t groups = 1) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, k).stride(stride).padding(pad).groups(groups).bias(false));
}

/// Output side of a k x k convolution/pool with the given stride and padding (floor mode).
inline int64_t conv_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad) {
  return (in + 2 * pad - k) / stride + 1;
}

/// torchvision's initialisation: Kaiming-normal (fan_out, ReLU) convolutions, BatchNorm weight 1, bias 0.
inline void init_conv_bn(torch::nn::Module& root) {
  torch::NoGradGuard g;
  for (auto& m : root.modules(/*include_self=*/false)) {
    if (auto* c = m->as<torch::nn::Conv2d>()) {
      torch::nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
    } else if (auto* b = m->as<torch::nn::BatchNorm2d>()) {
      torch::nn::init::ones_(b->weight);
      torch::nn::init::zeros_(b->bias);
    }
  }
}

}  // namespace wisesr::models
