#include "core/error.h"

#include <cstring>

namespace wisesr {
namespace {
std::string with_location(const std::string& message, const char* file, int line) {
  // Keep only the path below src/ (or the file name) so messages stay short.
  const char* shown = file;
  if (const char* p = std::strstr(file, "src/")) shown = p + 4;
  std::string out;
  out.reserve(message.size() + 64);
  out.append(message).append(" (").append(shown).append(":").append(std::to_string(line)).append(")");
  return out;
}
}  // namespace

Error::Error(const std::string& message, const char* file, int line)
    : std::runtime_error(with_location(message, file, line)), message_(message) {}

}  // namespace wisesr
