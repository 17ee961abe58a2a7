#include "models/model_options.h"

#include <algorithm>

#include "core/error.h"
#include "core/strings.h"
#include "models/backbone.h"
#include "models/heads.h"

namespace wisesr::models {

void ModelOptions::validate() const {
  auto known = [](const std::vector<std::string>& names, const std::string& n) {
    return std::find(names.begin(), names.end(), n) != names.end();
  };
  WISESR_CHECK(known(backbone_names(), backbone), "--model.backbone '", backbone,
               "' is unknown (valid: ", join(backbone_names()), ")");
  WISESR_CHECK(known(head_names(), head), "--model.head '", head, "' is unknown (valid: ", join(head_names()),
               ")");
  WISESR_CHECK(pool >= 0, "--model.pool must be >= 0, got ", pool);
  WISESR_CHECK(dropout == -1.0 || (dropout >= 0.0 && dropout < 1.0),
               "--model.dropout must be -1 (head default) or in [0, 1), got ", dropout);
}

}  // namespace wisesr::models
