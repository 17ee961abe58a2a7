#pragma once
// Backbones are stride-32 feature extractors: (N,3,S,S) -> (N,C,h,w). Parameter names follow
// torchvision/timm so their state_dicts can be loaded (the classifier's own `fc` is not part of it).

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace wisesr::models {

class BackboneImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor x) = 0;
  /// Channels of the output feature map.
  virtual int64_t out_channels() const = 0;
  /// Side of the output feature map for a square input of side `input`, by convolution arithmetic.
  virtual int64_t feature_size(int64_t input) const = 0;
  /// Bias parameters the Keras version of this network has on its convolutions and we do not (ours
  /// are bias-free before BatchNorm, as in torchvision/timm); used for the Keras-comparable count.
  virtual int64_t keras_conv_bias_params() { return 0; }
};

/// The backbone registry: the one list of the names --model.backbone accepts, how each is built and the
/// line --help shows for it (models/model_options.h); validation and messages come from it too.
struct BackboneEntry {
  const char* name;
  std::shared_ptr<BackboneImpl> (*make)();
  const char* help;
};
const std::vector<BackboneEntry>& backbone_registry();

/// The registered names, in registry order.
std::vector<std::string> backbone_names();
/// Throws naming the backbone and the valid names if unknown.
std::shared_ptr<BackboneImpl> make_backbone(const std::string& name);

}  // namespace wisesr::models
