#pragma once
// Backbone + head. Submodules are named "backbone" and "head" (state_dict keys backbone.*, head.*).
//
// Usage:
//   ModelOptions o;  o.backbone = "resnet50";  o.head = "wise";   // --model.* (models/model_options.h)
//   o.validate();                                                  // names checked against the registries
//   Classifier model = make_classifier(o, /*num_classes=*/70, /*image_size=*/224);
//   auto logits = model->forward(images);  ...  model->apply_constraints();   // after every update

#include <torch/torch.h>

#include "models/backbone.h"
#include "models/heads.h"
#include "models/model_options.h"

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
Classifier make_classifier(const ModelOptions& options, int64_t num_classes, int64_t image_size);

/// Total number of parameter elements.
int64_t count_parameters(torch::nn::Module& module);

}  // namespace wisesr::models
