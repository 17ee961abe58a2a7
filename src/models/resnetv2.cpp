#include "models/resnetv2.h"

#include "models/layers.h"

namespace wisesr::models {
namespace nn = torch::nn;

PreActBottleneckImpl::PreActBottleneckImpl(int64_t in, int64_t out, int64_t stride) {
  const int64_t mid = out / 4;
  if (stride != 1 || in != out) {
    downsample = register_module("downsample", std::make_shared<nn::Module>());
    downsample_conv = downsample->register_module("conv", conv2d(in, out, 1, stride));
  }
  norm1 = register_module("norm1", nn::BatchNorm2d(in));
  conv1 = register_module("conv1", conv2d(in, mid, 1));
  norm2 = register_module("norm2", nn::BatchNorm2d(mid));
  conv2 = register_module("conv2", conv2d(mid, mid, 3, stride, 1));
  norm3 = register_module("norm3", nn::BatchNorm2d(mid));
  conv3 = register_module("conv3", conv2d(mid, out, 1));
}

torch::Tensor PreActBottleneckImpl::forward(torch::Tensor x) {
  auto pre = norm1(x).relu_();
  auto shortcut = downsample_conv ? downsample_conv(pre) : x;
  auto y = conv1(pre);
  y = conv2(norm2(y).relu_());
  y = conv3(norm3(y).relu_());
  return y + shortcut;
}

ResNetV2Impl::ResNetV2Impl(std::array<int64_t, 4> blocks) {
  auto stem = register_module("stem", std::make_shared<nn::Module>());
  stem_conv = stem->register_module("conv", conv2d(3, 64, 7, 2, 3));
  auto stages = register_module("stages", std::make_shared<nn::Module>());
  int64_t in = 64;
  for (int s = 0; s < 4; ++s) {
    const int64_t out = 256 << s;
    auto stage = stages->register_module(std::to_string(s), std::make_shared<nn::Module>());
    nn::Sequential seq;
    for (int64_t b = 0; b < blocks[s]; ++b) {
      seq->push_back(PreActBottleneck(b == 0 ? in : out, out, b == 0 && s > 0 ? 2 : 1));
    }
    stage_blocks.push_back(stage->register_module("blocks", seq));
    in = out;
  }
  norm = register_module("norm", nn::BatchNorm2d(2048));
  init_conv_bn(*this);
}

torch::Tensor ResNetV2Impl::forward(torch::Tensor x) {
  x = torch::max_pool2d(stem_conv(x), 3, 2, 1);
  for (auto& blocks : stage_blocks) x = blocks->forward(x);
  return norm(x).relu_();
}

int64_t ResNetV2Impl::keras_conv_bias_params() {
  int64_t n = stem_conv->weight.size(0);
  for (auto& stage : stage_blocks) {
    for (auto& m : stage->children()) {
      auto* b = m->as<PreActBottleneckImpl>();
      n += b->conv3->weight.size(0);
      if (b->downsample_conv) n += b->downsample_conv->weight.size(0);
    }
  }
  return n;
}

int64_t ResNetV2Impl::feature_size(int64_t input) const {
  int64_t s = conv_out_size(input, 7, 2, 3);
  s = conv_out_size(s, 3, 2, 1);
  for (int i = 0; i < 3; ++i) s = conv_out_size(s, 3, 2, 1);
  return s;
}

}  // namespace wisesr::models
