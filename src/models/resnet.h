#pragma once
// ResNet with BasicBlocks in torchvision's layout (conv1, bn1, layer1..layer4, each block conv1/bn1/
// conv2/bn2/downsample.{0,1}). resnet18 is torchvision's; resnet-tiny is the same design with one
// block per stage and widths 16..128 for fast CPU runs and tests.

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

struct ResNetSpec {
  std::array<int64_t, 4> blocks;
  std::array<int64_t, 4> widths;
};

class ResNetImpl : public BackboneImpl {
 public:
  explicit ResNetImpl(ResNetSpec spec);
  torch::Tensor forward(torch::Tensor x) override;
  int64_t out_channels() const override { return spec_.widths[3]; }
  int64_t feature_size(int64_t input) const override;

 private:
  torch::nn::Sequential make_layer(int64_t in_planes, int64_t planes, int64_t blocks, int64_t stride);

  ResNetSpec spec_;
  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  torch::nn::MaxPool2d maxpool{nullptr};
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr}, layer4{nullptr};
};

ResNetSpec resnet18_spec();
ResNetSpec resnet_tiny_spec();

}  // namespace wisesr::models
