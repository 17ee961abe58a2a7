#pragma once
// Preemption signals. While a StopSignalScope lives, SIGTERM and SIGUSR1 (what Slurm sends before
// preempting or at a time limit) only record that a stop was requested; the trainer polls it once per
// step, agrees on it with every rank and stops at the same step boundary after a checkpoint.

#include <csignal>

namespace wisesr {

class StopSignalScope {
 public:
  StopSignalScope();
  ~StopSignalScope();  // restores the previous handlers
  StopSignalScope(const StopSignalScope&) = delete;
  StopSignalScope& operator=(const StopSignalScope&) = delete;

  /// The first signal received (SIGTERM or SIGUSR1), or 0.
  static int received();
  /// Forget a received signal (tests).
  static void reset();

 private:
  struct sigaction old_term_ {};
  struct sigaction old_usr1_ {};
};

}  // namespace wisesr
