#pragma once
// DenseNet-121/169/201 in torchvision's layout: features.{conv0,norm0,relu0,pool0,denseblockN.denselayerM.
// {norm1,relu1,conv1,norm2,relu2,conv2},transitionN.{norm,relu,conv,pool},norm5}. The backbone output is
// relu(features(x)), as in torchvision's forward before pooling.

#include <array>

#include "models/backbone.h"

namespace wisesr::models {

struct DenseLayerImpl : torch::nn::Module {
  DenseLayerImpl(int64_t in, int64_t growth, int64_t bn_size);
  torch::Tensor forward(const std::vector<torch::Tensor>& inputs);

  torch::nn::BatchNorm2d norm1{nullptr}, norm2{nullptr};
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
};
TORCH_MODULE(DenseLayer);

struct DenseBlockImpl : torch::nn::Module {
  DenseBlockImpl(int64_t layers, int64_t in, int64_t growth, int64_t bn_size);
  torch::Tensor forward(torch::Tensor x);

  std::vector<DenseLayer> layers;
};
TORCH_MODULE(DenseBlock);

struct TransitionImpl : torch::nn::Module {
  TransitionImpl(int64_t in, int64_t out);
  torch::Tensor forward(torch::Tensor x);

  torch::nn::BatchNorm2d norm{nullptr};
  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(Transition);

/// torchvision's `features` Sequential, with its child names.
struct DenseFeaturesImpl : torch::nn::Module {
  DenseFeaturesImpl(std::array<int64_t, 4> block_config, int64_t growth, int64_t init_features,
                    int64_t bn_size);
  torch::Tensor forward(torch::Tensor x);

  torch::nn::Conv2d conv0{nullptr};
  torch::nn::BatchNorm2d norm0{nullptr}, norm5{nullptr};
  std::vector<DenseBlock> blocks;
  std::vector<Transition> transitions;
  int64_t out_channels = 0;
};
TORCH_MODULE(DenseFeatures);

class DenseNetImpl : public BackboneImpl {
 public:
  explicit DenseNetImpl(std::array<int64_t, 4> block_config, int64_t growth = 32, int64_t init_features = 64,
                        int64_t bn_size = 4);
  torch::Tensor forward(torch::Tensor x) override;
  int64_t out_channels() const override { return features->out_channels; }
  int64_t feature_size(int64_t input) const override;

  DenseFeatures features{nullptr};
};

}  // namespace wisesr::models
