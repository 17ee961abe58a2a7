#pragma once
// Ends the process when the calling thread stops making progress: a rank blocked in a collective
// whose peer died or hung must not wait forever. The owner calls beat() at every step (and inside
// long phases); a background thread checks every poll interval and, after `timeout` seconds without a
// beat, prints one line naming the rank and the phase and exits with status 3 (under mpirun a
// non-zero exit ends the whole job). An optional probe (e.g. NCCL's asynchronous error query) is polled
// too; a non-empty message from it ends the process the same way.
//
// Usage: Watchdog dog(timeout_s, rank, [&] { return comm.poll_error(); });  ... dog.beat("training step");

#include <cstdint>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace wisesr {

class Watchdog {
 public:
  /// timeout_s <= 0 disables the timeout (the probe is still polled).
  Watchdog(double timeout_s, int rank, std::function<std::string()> probe = {},
           std::chrono::milliseconds poll = std::chrono::milliseconds(500));
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  /// Progress: resets the timer and names the current phase (a string literal: it is not copied).
  void beat(const char* phase);

 private:
  void run();

  double timeout_s_;
  int rank_;
  std::function<std::string()> probe_;
  std::chrono::milliseconds poll_;
  std::atomic<int64_t> last_beat_ns_;
  std::atomic<const char*> phase_{"start-up"};
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace wisesr
