#include "core/error.h"

#include <cstring>

#include "core/strings.h"

namespace wisesr {
namespace {
std::string with_location(const std::string& message, const char* file, int line) {
  // Show the path inside the repository ("core/fs.cpp", "data_prep/prep.cpp"). __FILE__ is relative to
  // the build directory with Ninja ("../src/core/fs.cpp") and absolute with other generators; no
  // -fmacro-prefix-map, because an absolute path in the flags would defeat ccache across clones.
  const char* shown = file;
  while (std::strncmp(shown, "../", 3) == 0) shown += 3;
  for (const char* top : {"/src/", "/data_prep/", "/tests/"}) {
    if (const char* p = std::strstr(shown, top)) {
      shown = p + 1;
      break;
    }
  }
  if (std::strncmp(shown, "src/", 4) == 0) shown += 4;
  std::string out;
  out.reserve(message.size() + 64);
  out.append(message).append(" (").append(shown).append(":").append(std::to_string(line)).append(")");
  return out;
}
// Messages quote user input (file contents, names): no raw control or non-UTF-8 byte reaches a terminal.
// Newlines stay, so that first_line() still cuts a multi-line library message where it did.
std::string escaped(const std::string& message) {
  std::string out;
  size_t start = 0;
  for (size_t nl = message.find('\n'); nl != std::string::npos; nl = message.find('\n', start)) {
    out.append(printable(std::string_view(message).substr(start, nl - start))).append("\n");
    start = nl + 1;
  }
  return out.append(printable(std::string_view(message).substr(start)));
}
}  // namespace

Error::Error(const std::string& message, const char* file, int line)
    : std::runtime_error(with_location(escaped(message), file, line)), message_(escaped(message)) {}

}  // namespace wisesr
