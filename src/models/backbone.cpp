#include "models/backbone.h"

#include "core/error.h"
#include "models/resnet.h"

namespace wisesr::models {

std::vector<std::string> backbone_names() { return {"resnet-tiny", "resnet18"}; }

std::shared_ptr<BackboneImpl> make_backbone(const std::string& name) {
  if (name == "resnet18") return std::make_shared<ResNetImpl>(resnet18_spec());
  if (name == "resnet-tiny") return std::make_shared<ResNetImpl>(resnet_tiny_spec());
  std::string valid;
  for (const auto& n : backbone_names()) valid += (valid.empty() ? "" : ", ") + n;
  WISESR_THROW("unknown backbone '", name, "' (valid: ", valid, ")");
}

}  // namespace wisesr::models
