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

/// The text up to the first newline (one-line error messages from multi-line exception texts).
inline std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace wisesr
