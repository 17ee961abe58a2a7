#include "models/classifier.h"

#include <algorithm>

#include "core/error.h"
#include "core/strings.h"

namespace wisesr::models {

ClassifierImpl::ClassifierImpl(std::shared_ptr<BackboneImpl> backbone, std::shared_ptr<HeadImpl> head)
    : backbone_(register_module("backbone", std::move(backbone))),
      head_(register_module("head", std::move(head))) {}

torch::Tensor ClassifierImpl::forward(torch::Tensor images) {
  return head_->forward(backbone_->forward(images));
}

Classifier make_classifier(const config::ModelConfig& cfg, int64_t num_classes, int64_t image_size) {
  auto backbone = make_backbone(cfg.backbone);
  HeadOptions o;
  o.kind = cfg.head;
  o.channels = backbone->out_channels();
  o.map_size = backbone->feature_size(image_size);
  WISESR_CHECK(o.map_size >= 1, "image size ", image_size, " is too small for backbone '", cfg.backbone, "'");
  o.classes = num_classes;
  o.pool = cfg.pool;
  o.dropout = cfg.dropout;
  return Classifier(std::move(backbone), make_head(o));
}

void check_model_config(const config::ModelConfig& cfg) {
  auto known = [](const std::vector<std::string>& names, const std::string& n) {
    return std::find(names.begin(), names.end(), n) != names.end();
  };
  WISESR_CHECK(known(backbone_names(), cfg.backbone), "--model.backbone '", cfg.backbone,
               "' is unknown (valid: ", join(backbone_names()), ")");
  WISESR_CHECK(known(head_names(), cfg.head), "--model.head '", cfg.head,
               "' is unknown (valid: ", join(head_names()), ")");
}

int64_t count_parameters(torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

}  // namespace wisesr::models
