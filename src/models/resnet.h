#pragma once
// ResNet in torchvision's layout (conv1, bn1, layer1..layer4; blocks conv1/bn1/conv2/bn2[/conv3/bn3]/
// downsample.{0,1}), so torchvision state_dicts load by name. resnet18 (BasicBlock) and resnet50
// (Bottleneck, "v1.5": stride on the 3x3 conv) are torchvision's; resnet-tiny is the BasicBlock design with
// one block per stage and widths 16..128, for fast CPU runs and tests.

#include <array>

#include "models/backbone.h"

namespace wisesr::models {

struct BasicBlockImpl : torch::nn::Module {
  BasicBlockImpl(int64_t in_planes, int64_t planes, int64_t stride);
  torch::Tensor forward(torch::Tensor x);

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Sequential downsample{nullptr};
};
TORCH_MODULE(BasicBlock);

struct BottleneckImpl : torch::nn::Module {
  static constexpr int64_t kExpansion = 4;
  BottleneckImpl(int64_t in_planes, int64_t planes, int64_t stride);
  torch::Tensor forward(torch::Tensor x);

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::Sequential downsample{nullptr};
};
TORCH_MODULE(Bottleneck);

struct ResNetSpec {
  std::array<int64_t, 4> blocks;
  std::array<int64_t, 4> widths;
  bool bottleneck = false;
};

class ResNetImpl : public BackboneImpl {
 public:
  explicit ResNetImpl(ResNetSpec spec);
  torch::Tensor forward(torch::Tensor x) override;
  int64_t out_channels() const override {
    return spec_.widths[3] * (spec_.bottleneck ? BottleneckImpl::kExpansion : 1);
  }
  int64_t feature_size(int64_t input) const override;
  /// Keras ResNet50 gives every convolution a bias.
  int64_t keras_conv_bias_params() override;

 private:
  torch::nn::Sequential make_layer(int64_t in_planes, int64_t planes, int64_t blocks, int64_t stride);

  ResNetSpec spec_;
  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  torch::nn::MaxPool2d maxpool{nullptr};
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr}, layer4{nullptr};
};

ResNetSpec resnet18_spec();
ResNetSpec resnet50_spec();
ResNetSpec resnet_tiny_spec();

}  // namespace wisesr::models
