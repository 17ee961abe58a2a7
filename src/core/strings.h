#pragma once
// Small string helpers for messages.

#include <string>
#include <vector>

namespace wisesr {

/// "a, b, c" (for error messages that list the valid choices).
inline std::string join(const std::vector<std::string>& items, const std::string& sep = ", ") {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

}  // namespace wisesr
