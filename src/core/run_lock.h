#pragma once
// RunLock: one job per run directory. Two jobs training into the same run directory (a second
// submission, a requeue that overlaps the old job) would interleave checkpoints and metrics; rank 0 holds
// this lock from before anything is written until the end of the run.
//
// Usage:
//   RunLock lock(run_dir, stale_after_s);   // throws, naming the holder, when a live job holds it
//   ...                                      // the lock's heartbeat is refreshed by a background thread
//   (end of scope: the lock file is removed if it is still ours)
//
// Note [Run lock protocol]
// The lock is the file <run_dir>/.lock, holding "key=value" lines: host, pid, the pid's start time (so a
// reused pid is not mistaken for the holder), start time, the Slurm job id and restart count when there
// are, and a random token. It is written under a temporary name and hard-linked onto .lock: link() fails
// if .lock exists and is atomic on NFS too, so exactly one job wins and the lock is never seen half
// written. The holder touches it every heartbeat_s (its mtime is the heartbeat). An existing lock is
// stale, and taken over with a warning, when
//   - its host is this host and its pid is gone (or is another process now),
//   - it belongs to an earlier run of the same Slurm job (requeued: Slurm ended the old one), or
//   - its heartbeat is older than stale_after_s (a holder on another host that died; the only test
//     possible across hosts, so it needs a shared file system whose mtimes are roughly in sync).
// Takeover renames the stale file away first (one taker wins), then links a new lock as above.

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace wisesr {

class RunLock {
 public:
  static constexpr const char* kFileName = ".lock";

  /// Takes <dir>/.lock (dir must exist). heartbeat_s <= 0: min(30, stale_after_s / 4).
  RunLock(const std::filesystem::path& dir, double stale_after_s, double heartbeat_s = 0);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

  const std::filesystem::path& path() const { return path_; }
  /// Set when a stale lock was taken over: who held it (one line).
  const std::string& took_over_from() const { return took_over_from_; }

  /// The holder of a lock file in one line ("host vm, pid 123, started ..., heartbeat 4 s ago"), or "" if
  /// there is none.
  static std::string describe_holder(const std::filesystem::path& lock_file);

 private:
  void heartbeat_loop(double every_s);

  std::filesystem::path path_;
  std::string token_;
  std::string took_over_from_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread heartbeat_;
};

/// Removes temporaries (".<name>.tmp-<pid>") under dir and its direct subdirectories whose pid is not a
/// live process on this host: what killed writers left. Call while holding the run's lock. Returns the
/// number of files and bytes removed.
struct RemovedTemporaries {
  int files = 0;
  uint64_t bytes = 0;
};
RemovedTemporaries remove_stale_temporaries(const std::filesystem::path& dir);

}  // namespace wisesr
