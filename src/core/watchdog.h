#pragma once
// Ends the process when the calling thread stops making progress: a rank blocked in a collective whose
// peer died or hung must not wait forever, and the message must say which rank stopped.
//
// Usage:
//   1. Watchdog dog(options, rank, world_size, probe);  // a background thread starts polling
//   2. dog.beat("training step", step) at every step (and inside long phases: evaluation, checkpoint);
//   3. after `timeout` seconds without a beat the thread prints one line naming this rank, its phase and
//      step, and the rank that stopped reporting first, and exits with status 3 (under mpirun a non-zero
//      exit ends the whole job). An optional probe (NCCL's asynchronous error query) is polled too; a
//      non-empty message from it ends the process the same way.
//
// Note [Watchdog heartbeats]
// The watchdog thread may not call MPI (only the main thread does), so ranks learn of each other through
// files: with a heartbeat directory (the run directory's .heartbeats/, on the shared file system), every
// rank's thread rewrites rank-<r> every second with its host, pid, phase, step and the time of its last
// beat. When one rank times out it reads them all. A file that stopped being rewritten belongs to a rank
// that is dead, stopped (SIGSTOP) or cut off; a fresh file with an old beat to one that is alive but not
// progressing. The first kind is named first, then whichever rank beat last longest ago: in a hang the
// culprit stops beating before the peers that then wait for it in a collective.
//
// Note [Watchdog start-up]
// The first steps are slow for reasons that are no fault: cuDNN autotuning, the CUDA-graph capture at step
// 3, the first page-ins of the shards. Until `warm_up_steps` steps have been beaten the limit is
// startup_timeout_s (when larger), so a short --train.timeout_s does not end a healthy job at its start.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace wisesr {

class Watchdog {
 public:
  struct Options {
    double timeout_s = 60;         // <= 0: no timeout (the probe is still polled)
    double startup_timeout_s = 0;  // the limit until warm_up_steps steps have been beaten, if larger
    int64_t warm_up_steps = 3;
    std::filesystem::path heartbeat_dir;  // empty: no heartbeats (see Note [Watchdog heartbeats])
    std::chrono::milliseconds poll{500};
  };

  Watchdog(const Options& options, int rank, int world_size, std::function<std::string()> probe = {});
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  /// Progress: resets the timer and names the current phase (a string literal: it is not copied) and the
  /// optimizer step (-1: unchanged).
  void beat(const char* phase, int64_t step = -1);

  /// The line that would be printed if this rank timed out now (tests).
  std::string describe_timeout(double idle_s) const;

 private:
  void run();
  void publish() const;
  double limit() const;

  Options options_;
  int rank_;
  int world_size_;
  std::function<std::string()> probe_;
  std::atomic<int64_t> last_beat_ns_;
  std::atomic<const char*> phase_{"start-up"};
  std::atomic<int64_t> step_{-1};
  std::atomic<int64_t> steps_beaten_{0};
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace wisesr
