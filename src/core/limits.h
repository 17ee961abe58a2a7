#pragma once
// Upper bounds of the options that size thread pools and buffers, checked when options are validated.
// Each bound lies far above any real configuration and far below what breaks a machine: 100000 decode
// workers start 19k threads and 4.7 GB of stacks before the first batch, and a rank that slow to start
// looks to the watchdog like a dead peer. The other bounds live next to their options' validate()
// (--data.prefetch 64, --train.batch_size 65536, ...); --help and docs/ state them.

#include <algorithm>
#include <cstdint>
#include <string>
#include <thread>

#include "core/error.h"

namespace wisesr {

/// The most threads one option may ask for (--train.threads, --data.workers, prep/verify --threads,
/// bench data --threads): 4 x the machine's hardware threads, and at least 256.
inline int max_option_threads() {
  return std::max(256, 4 * static_cast<int>(std::thread::hardware_concurrency()));
}

/// How --help states that bound.
inline const char* max_option_threads_text() { return "at most max(256, 4 x hardware threads)"; }

/// Throws "<option> must be in [0, N] (max(256, 4 x H hardware threads)), got V" unless 0 <= value <= N.
inline void check_thread_option(const std::string& option, int64_t value) {
  const int limit = max_option_threads();
  WISESR_CHECK(value >= 0 && value <= limit, option, " must be in [0, ", limit, "] (max(256, 4 x ",
               std::thread::hardware_concurrency(), " hardware threads)), got ", value);
}

}  // namespace wisesr
