#pragma once
// The one clock for elapsed-time measurements (steps, data waits, benchmarks): monotonic; and the one
// wall-clock timestamp format.

#include <chrono>
#include <ctime>
#include <string>

namespace wisesr {

using Clock = std::chrono::steady_clock;

/// Seconds from t to now.
inline double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

/// Milliseconds from t to now.
inline double ms_since(Clock::time_point t) { return 1000.0 * seconds_since(t); }

/// Wall-clock time now as ISO 8601 UTC, "2026-12-01T23:39:26Z" (for records people read: locks, histories).
inline std::string utc_timestamp() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace wisesr
