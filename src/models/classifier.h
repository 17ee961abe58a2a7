#pragma once
// Backbone + head. Submodules are named "backbone" and "head" (state_dict keys backbone.*, head.*).

#include <torch/torch.h>

#include "config/config.h"
#include "models/backbone.h"
#include "models/heads.h"

namespace wisesr::models {

class ClassifierImpl : public torch::nn::Module {
 public:
  ClassifierImpl(std::shared_ptr<BackboneImpl> backbone, std::shared_ptr<HeadImpl> head);
  torch::Tensor forward(torch::Tensor images);
  /// Re-impose every parameter constraint (the Wise-SrNet non-negative kernel); call after each update.
  void apply_constraints() { head_->apply_constraints(); }
  BackboneImpl& backbone() { return *backbone_; }
  HeadImpl& head() { return *head_; }

 private:
  std::shared_ptr<BackboneImpl> backbone_;
  std::shared_ptr<HeadImpl> head_;
};
TORCH_MODULE(Classifier);

/// Build the configured model for num_classes classes at the given square input size. The head is
/// sized from the backbone's computed feature map, never from a hard-coded size.
Classifier make_classifier(const config::ModelConfig& cfg, int64_t num_classes, int64_t image_size);

/// Throws naming the option if the backbone or head name is unknown (cheap: builds nothing).
void check_model_config(const config::ModelConfig& cfg);

/// Total number of parameter elements.
int64_t count_parameters(torch::nn::Module& module);

}  // namespace wisesr::models
