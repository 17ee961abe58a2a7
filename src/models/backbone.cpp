#include "models/backbone.h"

#include <functional>
#include <map>

#include "core/error.h"
#include "core/strings.h"
#include "models/densenet.h"
#include "models/resnet.h"
#include "models/resnetv2.h"
#include "models/xception.h"

namespace wisesr::models {
namespace {

const std::map<std::string, std::function<std::shared_ptr<BackboneImpl>()>>& registry() {
  static const std::map<std::string, std::function<std::shared_ptr<BackboneImpl>()>> r = {
      {"resnet-tiny", [] { return std::make_shared<ResNetImpl>(resnet_tiny_spec()); }},
      {"resnet18", [] { return std::make_shared<ResNetImpl>(resnet18_spec()); }},
      {"resnet50", [] { return std::make_shared<ResNetImpl>(resnet50_spec()); }},
      {"resnet50v2",
       [] {
         return std::make_shared<ResNetV2Impl>(std::array<int64_t, 4>{3, 4, 6, 3});
       }},
      {"densenet121",
       [] {
         return std::make_shared<DenseNetImpl>(std::array<int64_t, 4>{6, 12, 24, 16});
       }},
      {"densenet169",
       [] {
         return std::make_shared<DenseNetImpl>(std::array<int64_t, 4>{6, 12, 32, 32});
       }},
      {"densenet201",
       [] {
         return std::make_shared<DenseNetImpl>(std::array<int64_t, 4>{6, 12, 48, 32});
       }},
      {"xception", [] { return std::make_shared<XceptionImpl>(); }},
  };
  return r;
}

}  // namespace

std::vector<std::string> backbone_names() {
  std::vector<std::string> names;
  for (const auto& [name, make] : registry()) names.push_back(name);
  return names;
}

std::shared_ptr<BackboneImpl> make_backbone(const std::string& name) {
  auto it = registry().find(name);
  if (it != registry().end()) return it->second();
  WISESR_THROW("unknown backbone '", name, "' (valid: ", join(backbone_names()), ")");
}

}  // namespace wisesr::models
