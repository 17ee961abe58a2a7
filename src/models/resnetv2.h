#pragma once
// ResNet-50 v2 (pre-activation), the paper's ResNet50V2, in timm's `resnetv2_50` layout:
// stem.conv, stages.N.blocks.M.{downsample.conv, norm1, conv1, norm2, conv2, norm3, conv3}, norm.
// Block: x' = relu(bn1(x)); shortcut = downsample(x') or x; out =
// conv3(relu(bn3(conv2(relu(bn2(conv1(x'))))))) + shortcut; the stride sits on conv2 of each stage's first
// block (timm; Keras puts it on the last block). The backbone output is relu(norm(x)), the features timm's
// head pools.

#include "models/backbone.h"

namespace wisesr::models {

struct PreActBottleneckImpl : torch::nn::Module {
  PreActBottleneckImpl(int64_t in, int64_t out, int64_t stride);
  torch::Tensor forward(torch::Tensor x);

  torch::nn::BatchNorm2d norm1{nullptr}, norm2{nullptr}, norm3{nullptr};
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  std::shared_ptr<torch::nn::Module> downsample;  // holds `conv` only (its norm is Identity in timm)
  torch::nn::Conv2d downsample_conv{nullptr};
};
TORCH_MODULE(PreActBottleneck);

class ResNetV2Impl : public BackboneImpl {
 public:
  explicit ResNetV2Impl(std::array<int64_t, 4> blocks);
  torch::Tensor forward(torch::Tensor x) override;
  int64_t out_channels() const override { return 2048; }
  int64_t feature_size(int64_t input) const override;
  /// Keras ResNet50V2 has biases on the stem conv, each block's last 1x1 conv and shortcut convs.
  int64_t keras_conv_bias_params() override;

 private:
  torch::nn::Conv2d stem_conv{nullptr};
  std::vector<torch::nn::Sequential> stage_blocks;
  torch::nn::BatchNorm2d norm{nullptr};
};

}  // namespace wisesr::models
