#include "core/watchdog.h"

#include <cstdio>
#include <cstdlib>

namespace wisesr {
namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Watchdog::Watchdog(double timeout_s, int rank, std::function<std::string()> probe,
                   std::chrono::milliseconds poll)
    : timeout_s_(timeout_s), rank_(rank), probe_(std::move(probe)), poll_(poll), last_beat_ns_(now_ns()) {
  if (timeout_s_ > 0 || probe_) thread_ = std::thread([this] { run(); });
}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Watchdog::beat(const char* phase) {
  phase_.store(phase, std::memory_order_relaxed);
  last_beat_ns_.store(now_ns(), std::memory_order_relaxed);
}

void Watchdog::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!cv_.wait_for(lock, poll_, [this] { return stop_; })) {
    std::string problem;
    if (probe_) problem = probe_();
    const double idle = static_cast<double>(now_ns() - last_beat_ns_.load(std::memory_order_relaxed)) * 1e-9;
    if (problem.empty() && timeout_s_ > 0 && idle > timeout_s_) {
      char buf[256];
      std::snprintf(
          buf, sizeof(buf),
          "no progress for %.0f s (--train.timeout_s) during %s: a peer rank died, hung or lost its "
          "network; ending the job",
          idle, phase_.load(std::memory_order_relaxed));
      problem = buf;
    }
    if (!problem.empty()) {
      std::fprintf(stderr, "[rank %d] wisesr: error: %s\n", rank_, problem.c_str());
      std::fflush(stderr);
      // Not exit(): static destructors and atexit handlers could block on the very thing that hangs.
      std::_Exit(3);
    }
  }
}

}  // namespace wisesr
