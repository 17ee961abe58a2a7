#include "models/densenet.h"

#include "models/layers.h"

namespace wisesr::models {
namespace nn = torch::nn;

DenseLayerImpl::DenseLayerImpl(int64_t in, int64_t growth, int64_t bn_size) {
  norm1 = register_module("norm1", nn::BatchNorm2d(in));
  conv1 = register_module("conv1", conv2d(in, bn_size * growth, 1));
  norm2 = register_module("norm2", nn::BatchNorm2d(bn_size * growth));
  conv2 = register_module("conv2", conv2d(bn_size * growth, growth, 3, 1, 1));
}

torch::Tensor DenseLayerImpl::forward(const std::vector<torch::Tensor>& inputs) {
  auto x = inputs.size() == 1 ? inputs[0] : torch::cat(inputs, 1);
  x = conv1(norm1(x).relu_());
  return conv2(norm2(x).relu_());
}

DenseBlockImpl::DenseBlockImpl(int64_t n, int64_t in, int64_t growth, int64_t bn_size) {
  for (int64_t i = 0; i < n; ++i) {
    layers.push_back(
        register_module("denselayer" + std::to_string(i + 1), DenseLayer(in + i * growth, growth, bn_size)));
  }
}

torch::Tensor DenseBlockImpl::forward(torch::Tensor x) {
  std::vector<torch::Tensor> features{x};
  for (auto& layer : layers) features.push_back(layer->forward(features));
  return torch::cat(features, 1);
}

TransitionImpl::TransitionImpl(int64_t in, int64_t out) {
  norm = register_module("norm", nn::BatchNorm2d(in));
  conv = register_module("conv", conv2d(in, out, 1));
}

torch::Tensor TransitionImpl::forward(torch::Tensor x) {
  return torch::avg_pool2d(conv(norm(x).relu_()), 2, 2);
}

DenseFeaturesImpl::DenseFeaturesImpl(std::array<int64_t, 4> block_config, int64_t growth,
                                     int64_t init_features, int64_t bn_size) {
  conv0 = register_module("conv0", conv2d(3, init_features, 7, 2, 3));
  norm0 = register_module("norm0", nn::BatchNorm2d(init_features));
  int64_t c = init_features;
  for (size_t i = 0; i < block_config.size(); ++i) {
    blocks.push_back(register_module("denseblock" + std::to_string(i + 1),
                                     DenseBlock(block_config[i], c, growth, bn_size)));
    c += block_config[i] * growth;
    if (i + 1 < block_config.size()) {
      transitions.push_back(register_module("transition" + std::to_string(i + 1), Transition(c, c / 2)));
      c /= 2;
    }
  }
  norm5 = register_module("norm5", nn::BatchNorm2d(c));
  out_channels = c;
}

torch::Tensor DenseFeaturesImpl::forward(torch::Tensor x) {
  x = torch::max_pool2d(norm0(conv0(x)).relu_(), 3, 2, 1);
  for (size_t i = 0; i < blocks.size(); ++i) {
    x = blocks[i]->forward(x);
    if (i < transitions.size()) x = transitions[i]->forward(x);
  }
  return norm5(x);
}

DenseNetImpl::DenseNetImpl(std::array<int64_t, 4> block_config, int64_t growth, int64_t init_features,
                           int64_t bn_size) {
  features = register_module("features", DenseFeatures(block_config, growth, init_features, bn_size));
  init_conv_bn(*this);
  // torchvision uses Kaiming-normal with its default (fan_in) mode for DenseNet convolutions.
  torch::NoGradGuard g;
  for (auto& m : modules(false)) {
    if (auto* c = m->as<nn::Conv2d>()) nn::init::kaiming_normal_(c->weight);
  }
}

torch::Tensor DenseNetImpl::forward(torch::Tensor x) { return features->forward(x).relu_(); }

int64_t DenseNetImpl::feature_size(int64_t input) const {
  int64_t s = conv_out_size(input, 7, 2, 3);                                                // conv0
  s = conv_out_size(s, 3, 2, 1);                                                            // pool0
  for (size_t i = 0; i < features->transitions.size(); ++i) s = conv_out_size(s, 2, 2, 0);  // avg-pool 2x2
  return s;
}

}  // namespace wisesr::models
