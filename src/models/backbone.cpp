#include "models/backbone.h"

#include "core/error.h"
#include "core/strings.h"
#include "models/densenet.h"
#include "models/model_options.h"
#include "models/resnet.h"
#include "models/resnetv2.h"
#include "models/xception.h"

namespace wisesr::models {

const std::vector<BackboneEntry>& backbone_registry() {
  static const std::vector<BackboneEntry> r = {
      {"resnet-tiny",
       []() -> std::shared_ptr<BackboneImpl> { return std::make_shared<ResNetImpl>(resnet_tiny_spec()); },
       "resnet18's design, 1 block per stage, widths 16..128 (fast CPU runs and tests)"},
      {"resnet18",
       []() -> std::shared_ptr<BackboneImpl> { return std::make_shared<ResNetImpl>(resnet18_spec()); },
       "torchvision resnet18"},
      {"resnet50",
       []() -> std::shared_ptr<BackboneImpl> { return std::make_shared<ResNetImpl>(resnet50_spec()); },
       "torchvision resnet50 (v1.5: stride on the 3x3 conv)"},
      {"resnet50v2",
       []() -> std::shared_ptr<BackboneImpl> {
         return std::make_shared<ResNetV2Impl>(std::array<int64_t, 4>{3, 4, 6, 3});
       },
       "timm resnetv2_50 (pre-activation; the paper's ResNet50V2)"},
      {"densenet121",
       []() -> std::shared_ptr<BackboneImpl> {
         return std::make_shared<DenseNetImpl>(std::array<int64_t, 4>{6, 12, 24, 16});
       },
       "torchvision densenet121"},
      {"densenet169",
       []() -> std::shared_ptr<BackboneImpl> {
         return std::make_shared<DenseNetImpl>(std::array<int64_t, 4>{6, 12, 32, 32});
       },
       "torchvision densenet169"},
      {"densenet201",
       []() -> std::shared_ptr<BackboneImpl> {
         return std::make_shared<DenseNetImpl>(std::array<int64_t, 4>{6, 12, 48, 32});
       },
       "torchvision densenet201"},
      {"xception", []() -> std::shared_ptr<BackboneImpl> { return std::make_shared<XceptionImpl>(); },
       "timm legacy_xception (the paper's Keras Xception; unpadded stem)"},
  };
  return r;
}

std::vector<std::string> backbone_names() {
  std::vector<std::string> names;
  for (const auto& e : backbone_registry()) names.push_back(e.name);
  return names;
}

std::string backbone_help() {
  std::string out;
  for (const auto& e : backbone_registry())
    out += std::string(out.empty() ? "" : "\n") + e.name + ": " + e.help;
  return out;
}

std::shared_ptr<BackboneImpl> make_backbone(const std::string& name) {
  for (const auto& e : backbone_registry())
    if (name == e.name) return e.make();
  WISESR_THROW("unknown backbone '", name, "' (valid: ", join(backbone_names()), ")");
}

}  // namespace wisesr::models
