#pragma once
// Rank-aware logging. The rank is process-wide state set once after MPI start-up; it is the
// only global in the project and exists so that every line can say which rank wrote it.

#include <sstream>
#include <string>

namespace wisesr::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void set_rank(int rank, int world_size);
int rank();
void set_level(Level level);
Level level();

/// Write one line to stderr (warnings/errors) or stdout (info), prefixed with the rank when world size > 1.
void write(Level level, bool all_ranks, const std::string& text);

}  // namespace wisesr::log

#define WISESR_LOG_IMPL(lvl, all, ...)                                       \
  do {                                                                       \
    if (static_cast<int>(lvl) >= static_cast<int>(::wisesr::log::level()) && \
        ((all) || ::wisesr::log::rank() == 0)) {                             \
      std::ostringstream wisesr_log_os_;                                     \
      wisesr_log_os_ << __VA_ARGS__;                                         \
      ::wisesr::log::write(lvl, all, wisesr_log_os_.str());                  \
    }                                                                        \
  } while (false)

/// Info line from rank 0 only.
#define LOG_RANK0(...) WISESR_LOG_IMPL(::wisesr::log::Level::kInfo, false, __VA_ARGS__)
/// Info line from every rank (prefixed with the rank).
#define LOG_ALL(...) WISESR_LOG_IMPL(::wisesr::log::Level::kInfo, true, __VA_ARGS__)
/// Warning from every rank.
#define LOG_WARN(...) WISESR_LOG_IMPL(::wisesr::log::Level::kWarn, true, __VA_ARGS__)
/// Debug line from every rank.
#define LOG_DEBUG(...) WISESR_LOG_IMPL(::wisesr::log::Level::kDebug, true, __VA_ARGS__)
