#pragma once
// The one clock for elapsed-time measurements (steps, data waits, benchmarks): monotonic.

#include <chrono>

namespace wisesr {

using Clock = std::chrono::steady_clock;

/// Seconds from t to now.
inline double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

/// Milliseconds from t to now.
inline double ms_since(Clock::time_point t) { return 1000.0 * seconds_since(t); }

}  // namespace wisesr
