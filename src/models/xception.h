#pragma once
// Xception (Chollet 2017; the paper's Keras Xception) in timm's `legacy_xception` layout:
// conv1, bn1, conv2, bn2, block1..block12 ({skip, skipbn,} rep.N with SeparableConv2d {conv1 (depthwise),
// pointwise}, BatchNorm, ReLU and MaxPool at the same indices as timm), conv3, bn3, conv4, bn4.
// conv1/conv2 are unpadded (valid), as in Keras: 299 -> 10x10, 512 -> 16x16.

#include "models/backbone.h"

namespace wisesr::models {

struct SeparableConvImpl : torch::nn::Module {
  SeparableConvImpl(int64_t in, int64_t out);
  torch::Tensor forward(torch::Tensor x);

  torch::nn::Conv2d conv1{nullptr}, pointwise{nullptr};
};
TORCH_MODULE(SeparableConv);

struct XceptionBlockImpl : torch::nn::Module {
  XceptionBlockImpl(int64_t in, int64_t out, int64_t reps, int64_t stride, bool start_with_relu,
                    bool grow_first);
  torch::Tensor forward(torch::Tensor x);

  torch::nn::Conv2d skip{nullptr};
  torch::nn::BatchNorm2d skipbn{nullptr};
  torch::nn::Sequential rep{nullptr};
};
TORCH_MODULE(XceptionBlock);

class XceptionImpl : public BackboneImpl {
 public:
  XceptionImpl();
  torch::Tensor forward(torch::Tensor x) override;
  int64_t out_channels() const override { return 2048; }
  int64_t feature_size(int64_t input) const override;

 private:
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr}, bn4{nullptr};
  std::vector<XceptionBlock> blocks_;
  SeparableConv conv3{nullptr}, conv4{nullptr};
};

}  // namespace wisesr::models
