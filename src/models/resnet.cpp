#include "models/resnet.h"

#include "core/error.h"
#include "models/layers.h"

namespace wisesr::models {
namespace nn = torch::nn;

BasicBlockImpl::BasicBlockImpl(int64_t in_planes, int64_t planes, int64_t stride) {
  conv1 = register_module("conv1", conv2d(in_planes, planes, 3, stride, 1));
  bn1 = register_module("bn1", nn::BatchNorm2d(planes));
  conv2 = register_module("conv2", conv2d(planes, planes, 3, 1, 1));
  bn2 = register_module("bn2", nn::BatchNorm2d(planes));
  if (stride != 1 || in_planes != planes) {
    downsample = register_module(
        "downsample", nn::Sequential(conv2d(in_planes, planes, 1, stride, 0), nn::BatchNorm2d(planes)));
  }
}

torch::Tensor BasicBlockImpl::forward(torch::Tensor x) {
  auto identity = downsample ? downsample->forward(x) : x;
  // In-place ReLU and residual add, as torchvision's blocks: batch norm's backward needs its input, not
  // its output, so the output may be overwritten (autograd's version counters would say otherwise), and
  // each saves an activation-sized allocation and a pass over it.
  auto out = bn1(conv1(x)).relu_();
  out = bn2(conv2(out));
  out += identity;
  return out.relu_();
}

BottleneckImpl::BottleneckImpl(int64_t in_planes, int64_t planes, int64_t stride) {
  const int64_t out = planes * kExpansion;
  conv1 = register_module("conv1", conv2d(in_planes, planes, 1, 1, 0));
  bn1 = register_module("bn1", nn::BatchNorm2d(planes));
  conv2 = register_module("conv2", conv2d(planes, planes, 3, stride, 1));
  bn2 = register_module("bn2", nn::BatchNorm2d(planes));
  conv3 = register_module("conv3", conv2d(planes, out, 1, 1, 0));
  bn3 = register_module("bn3", nn::BatchNorm2d(out));
  if (stride != 1 || in_planes != out) {
    downsample = register_module("downsample",
                                 nn::Sequential(conv2d(in_planes, out, 1, stride, 0), nn::BatchNorm2d(out)));
  }
}

torch::Tensor BottleneckImpl::forward(torch::Tensor x) {
  auto identity = downsample ? downsample->forward(x) : x;
  auto out = bn1(conv1(x)).relu_();  // in place: see BasicBlockImpl::forward
  out = bn2(conv2(out)).relu_();
  out = bn3(conv3(out));
  out += identity;
  return out.relu_();
}

ResNetImpl::ResNetImpl(ResNetSpec spec) : spec_(spec) {
  conv1 = register_module("conv1", conv2d(3, spec.widths[0], 7, 2, 3));
  bn1 = register_module("bn1", nn::BatchNorm2d(spec.widths[0]));
  maxpool = register_module("maxpool", nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1)));
  const int64_t e = spec.bottleneck ? BottleneckImpl::kExpansion : 1;
  layer1 = register_module("layer1", make_layer(spec.widths[0], spec.widths[0], spec.blocks[0], 1));
  layer2 = register_module("layer2", make_layer(spec.widths[0] * e, spec.widths[1], spec.blocks[1], 2));
  layer3 = register_module("layer3", make_layer(spec.widths[1] * e, spec.widths[2], spec.blocks[2], 2));
  layer4 = register_module("layer4", make_layer(spec.widths[2] * e, spec.widths[3], spec.blocks[3], 2));
  init_conv_bn(*this);
}

nn::Sequential ResNetImpl::make_layer(int64_t in_planes, int64_t planes, int64_t blocks, int64_t stride) {
  nn::Sequential layer;
  if (spec_.bottleneck) {
    layer->push_back(Bottleneck(in_planes, planes, stride));
    for (int64_t i = 1; i < blocks; ++i)
      layer->push_back(Bottleneck(planes * BottleneckImpl::kExpansion, planes, 1));
  } else {
    layer->push_back(BasicBlock(in_planes, planes, stride));
    for (int64_t i = 1; i < blocks; ++i) layer->push_back(BasicBlock(planes, planes, 1));
  }
  return layer;
}

torch::Tensor ResNetImpl::forward(torch::Tensor x) {
  x = maxpool(bn1(conv1(x)).relu_());
  return layer4->forward(layer3->forward(layer2->forward(layer1->forward(x))));
}

int64_t ResNetImpl::feature_size(int64_t input) const {
  int64_t s = conv_out_size(input, 7, 2, 3);                  // conv1
  s = conv_out_size(s, 3, 2, 1);                              // maxpool
  for (int i = 0; i < 3; ++i) s = conv_out_size(s, 3, 2, 1);  // first conv of layer2..4
  return s;
}

int64_t ResNetImpl::keras_conv_bias_params() {
  int64_t n = 0;
  for (auto& m : modules(false))
    if (auto* c = m->as<nn::Conv2d>()) n += c->weight.size(0);
  return n;
}

ResNetSpec resnet18_spec() { return {{2, 2, 2, 2}, {64, 128, 256, 512}, false}; }
ResNetSpec resnet50_spec() { return {{3, 4, 6, 3}, {64, 128, 256, 512}, true}; }
ResNetSpec resnet_tiny_spec() { return {{1, 1, 1, 1}, {16, 32, 64, 128}, false}; }

}  // namespace wisesr::models
