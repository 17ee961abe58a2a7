#include "models/resnet.h"

#include "core/error.h"

namespace wisesr::models {
namespace nn = torch::nn;
namespace {

nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding(pad).bias(false));
}

// Output side of a k x k convolution/pool with the given stride and padding.
int64_t conv_out(int64_t in, int64_t k, int64_t stride, int64_t pad) { return (in + 2 * pad - k) / stride + 1; }

}  // namespace

BasicBlockImpl::BasicBlockImpl(int64_t in_planes, int64_t planes, int64_t stride) {
  conv1 = register_module("conv1", conv(in_planes, planes, 3, stride, 1));
  bn1 = register_module("bn1", nn::BatchNorm2d(planes));
  conv2 = register_module("conv2", conv(planes, planes, 3, 1, 1));
  bn2 = register_module("bn2", nn::BatchNorm2d(planes));
  if (stride != 1 || in_planes != planes) {
    downsample = register_module("downsample", nn::Sequential(conv(in_planes, planes, 1, stride, 0),
                                                              nn::BatchNorm2d(planes)));
  }
}

torch::Tensor BasicBlockImpl::forward(torch::Tensor x) {
  auto identity = downsample ? downsample->forward(x) : x;
  auto out = torch::relu(bn1(conv1(x)));
  out = bn2(conv2(out));
  return torch::relu(out + identity);
}

ResNetImpl::ResNetImpl(ResNetSpec spec) : spec_(spec) {
  conv1 = register_module("conv1", conv(3, spec.widths[0], 7, 2, 3));
  bn1 = register_module("bn1", nn::BatchNorm2d(spec.widths[0]));
  maxpool = register_module("maxpool", nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1)));
  layer1 = register_module("layer1", make_layer(spec.widths[0], spec.widths[0], spec.blocks[0], 1));
  layer2 = register_module("layer2", make_layer(spec.widths[0], spec.widths[1], spec.blocks[1], 2));
  layer3 = register_module("layer3", make_layer(spec.widths[1], spec.widths[2], spec.blocks[2], 2));
  layer4 = register_module("layer4", make_layer(spec.widths[2], spec.widths[3], spec.blocks[3], 2));
  // torchvision's initialisation: Kaiming-normal (fan_out) convolutions, BN weight 1 / bias 0.
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* c = m->as<nn::Conv2d>()) {
      nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
    } else if (auto* b = m->as<nn::BatchNorm2d>()) {
      nn::init::ones_(b->weight);
      nn::init::zeros_(b->bias);
    }
  }
}

nn::Sequential ResNetImpl::make_layer(int64_t in_planes, int64_t planes, int64_t blocks, int64_t stride) {
  nn::Sequential layer;
  layer->push_back(BasicBlock(in_planes, planes, stride));
  for (int64_t i = 1; i < blocks; ++i) layer->push_back(BasicBlock(planes, planes, 1));
  return layer;
}

torch::Tensor ResNetImpl::forward(torch::Tensor x) {
  x = maxpool(torch::relu(bn1(conv1(x))));
  return layer4->forward(layer3->forward(layer2->forward(layer1->forward(x))));
}

int64_t ResNetImpl::feature_size(int64_t input) const {
  int64_t s = conv_out(input, 7, 2, 3);  // conv1
  s = conv_out(s, 3, 2, 1);              // maxpool
  for (int i = 0; i < 3; ++i) s = conv_out(s, 3, 2, 1);  // first conv of layer2..4
  return s;
}

ResNetSpec resnet18_spec() { return {{2, 2, 2, 2}, {64, 128, 256, 512}}; }
ResNetSpec resnet_tiny_spec() { return {{1, 1, 1, 1}, {16, 32, 64, 128}}; }

}  // namespace wisesr::models
