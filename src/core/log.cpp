#include "core/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "core/strings.h"

namespace wisesr::log {
namespace {
std::atomic<int> g_rank{0};
std::atomic<int> g_world{1};
std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::mutex g_mutex;
}  // namespace

void set_rank(int rank, int world_size) {
  g_rank = rank;
  g_world = world_size;
}
int rank() { return g_rank; }
void set_level(Level level) { g_level = static_cast<int>(level); }
Level level() { return static_cast<Level>(g_level.load()); }

namespace {
// Warnings and errors often quote user input (folder and file names): raw bytes are escaped line by line
// (strings.h printable()), so that a name never writes terminal control sequences; newlines stay.
std::string printable_lines(const std::string& text) {
  std::string out;
  for (size_t start = 0;;) {
    const size_t end = text.find('\n', start);
    out += printable(std::string_view(text).substr(start, end == std::string::npos ? end : end - start));
    if (end == std::string::npos) return out;
    out += '\n';
    start = end + 1;
  }
}
}  // namespace

void write(Level lvl, bool all_ranks, const std::string& raw) {
  const std::string text = lvl >= Level::kWarn ? printable_lines(raw) : raw;
  std::lock_guard<std::mutex> lock(g_mutex);
  FILE* stream = lvl >= Level::kWarn ? stderr : stdout;
  const char* tag = lvl == Level::kWarn ? "warning: " : lvl == Level::kError ? "error: " : "";
  if (all_ranks && g_world > 1) {
    std::fprintf(stream, "[rank %d] %s%s\n", g_rank.load(), tag, text.c_str());
  } else {
    std::fprintf(stream, "%s%s\n", tag, text.c_str());
  }
  std::fflush(stream);
}

}  // namespace wisesr::log
