#include "models/xception.h"

#include "models/layers.h"

namespace wisesr::models {
namespace nn = torch::nn;

SeparableConvImpl::SeparableConvImpl(int64_t in, int64_t out) {
  conv1 = register_module("conv1", conv2d(in, in, 3, 1, 1, /*groups=*/in));
  pointwise = register_module("pointwise", conv2d(in, out, 1));
}

torch::Tensor SeparableConvImpl::forward(torch::Tensor x) { return pointwise(conv1(x)); }

XceptionBlockImpl::XceptionBlockImpl(int64_t in, int64_t out, int64_t reps, int64_t stride,
                                     bool start_with_relu, bool grow_first) {
  if (out != in || stride != 1) {
    skip = register_module("skip", conv2d(in, out, 1, stride));
    skipbn = register_module("skipbn", nn::BatchNorm2d(out));
  }
  // Same module sequence (and so the same indices) as timm's legacy Xception Block.
  nn::Sequential seq;
  for (int64_t i = 0; i < reps; ++i) {
    const int64_t c_in = i == 0 ? in : (grow_first ? out : in);
    const int64_t c_out = grow_first || i == reps - 1 ? out : in;
    if (i > 0 || start_with_relu) seq->push_back(nn::ReLU());
    seq->push_back(SeparableConv(c_in, c_out));
    seq->push_back(nn::BatchNorm2d(c_out));
  }
  if (stride != 1) seq->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(stride).padding(1)));
  rep = register_module("rep", seq);
}

torch::Tensor XceptionBlockImpl::forward(torch::Tensor x) {
  auto y = rep->forward(x);
  return y + (skip ? skipbn(skip(x)) : x);
}

XceptionImpl::XceptionImpl() {
  conv1 = register_module("conv1", conv2d(3, 32, 3, 2, 0));
  bn1 = register_module("bn1", nn::BatchNorm2d(32));
  conv2 = register_module("conv2", conv2d(32, 64, 3, 1, 0));
  bn2 = register_module("bn2", nn::BatchNorm2d(64));
  auto add = [&](int64_t in, int64_t out, int64_t reps, int64_t stride, bool relu_first, bool grow_first) {
    const std::string name = "block" + std::to_string(blocks_.size() + 1);
    blocks_.push_back(register_module(name, XceptionBlock(in, out, reps, stride, relu_first, grow_first)));
  };
  add(64, 128, 2, 2, false, true);
  add(128, 256, 2, 2, true, true);
  add(256, 728, 2, 2, true, true);
  for (int i = 0; i < 8; ++i) add(728, 728, 3, 1, true, true);
  add(728, 1024, 2, 2, true, false);
  conv3 = register_module("conv3", SeparableConv(1024, 1536));
  bn3 = register_module("bn3", nn::BatchNorm2d(1536));
  conv4 = register_module("conv4", SeparableConv(1536, 2048));
  bn4 = register_module("bn4", nn::BatchNorm2d(2048));
  init_conv_bn(*this);
}

torch::Tensor XceptionImpl::forward(torch::Tensor x) {
  x = bn1(conv1(x)).relu_();
  x = bn2(conv2(x)).relu_();
  for (auto& b : blocks_) x = b->forward(x);
  x = bn3(conv3(x)).relu_();
  return bn4(conv4(x)).relu_();
}

int64_t XceptionImpl::feature_size(int64_t input) const {
  int64_t s = conv_out_size(input, 3, 2, 0);                  // conv1
  s = conv_out_size(s, 3, 1, 0);                              // conv2
  for (int i = 0; i < 4; ++i) s = conv_out_size(s, 3, 2, 1);  // max-pools of blocks 1, 2, 3, 12
  return s;
}

}  // namespace wisesr::models
