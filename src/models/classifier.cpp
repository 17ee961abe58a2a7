#include "models/classifier.h"

#include "core/error.h"

namespace wisesr::models {

ClassifierImpl::ClassifierImpl(std::shared_ptr<BackboneImpl> backbone, std::shared_ptr<HeadImpl> head)
    : backbone_(register_module("backbone", std::move(backbone))),
      head_(register_module("head", std::move(head))) {}

torch::Tensor ClassifierImpl::forward(torch::Tensor images) {
  return head_->forward(backbone_->forward(images));
}

Classifier make_classifier(const ModelOptions& options, int64_t num_classes, int64_t image_size) {
  auto backbone = make_backbone(options.backbone);
  HeadOptions o;
  o.kind = options.head;
  o.channels = backbone->out_channels();
  o.map_size = backbone->feature_size(image_size);
  WISESR_CHECK(o.map_size >= 1, "image size ", image_size, " is too small for backbone '", options.backbone,
               "'");
  o.classes = num_classes;
  o.pool = options.pool;
  o.dropout = options.dropout;
  return Classifier(std::move(backbone), make_head(o));
}

int64_t count_parameters(torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

}  // namespace wisesr::models
