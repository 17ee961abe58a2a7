#pragma once
// Stop requests from outside the process: what schedulers, launchers and terminals send before they end a
// job. While a StopSignalScope lives, each of them only records that a stop was requested; the trainer
// polls received() once per step, agrees on it with every rank and stops at the same step boundary after a
// checkpoint (docs/training.md, "Preemption"; cluster/README.md has what each launcher sends).
//
// Usage:
//   1. construct one as early as possible (main does, before MPI start-up), so that a signal that arrives
//      during start-up is recorded instead of killing the process;
//   2. poll StopSignalScope::received() at safe points (0: keep going);
//   3. scopes nest: only the outermost one installs handlers and restores the previous ones at its end.
//
// Note [Which signals stop the run]
// SIGTERM, SIGINT, SIGUSR1 and SIGUSR2 are stop requests. SIGCONT is one too, unless it resumes this
// process after a stop: Open MPI's mpirun (4.1 and 5.x), on SIGTERM or SIGINT, sends its ranks SIGCONT at
// once, SIGTERM only odls_base_sigkill_timeout seconds later and SIGKILL as long again; reacting to the
// SIGCONT starts the checkpoint at once and gives it both intervals. A SIGCONT that resumes the process
// (job control, `scontrol suspend/resume`, a debugger) is told apart by time: a ticker thread notes the
// time every 250 ms, and a stopped process's ticker stops too, so a SIGCONT after a gap of more than
// 1.5 s (or within 5 s of one, as the launcher's forwarded copy of the same resume) is a resume, not a
// request. SIGTSTP (Ctrl-Z, forwarded by mpirun) stops the process as usual and marks the next SIGCONT
// as a resume. A ticker delayed by a loaded machine can only make a request look like a resume: the
// SIGTERM that follows still stops the run.
//
// Note [Early stop signals]
// Before main() runs, LibTorch's static initialisers take about a second; a signal then would still take
// its default action (death). src/early_signals.c, in the executable's .preinit_array (run by the loader
// before any library's initialiser), records stop signals from the process's first moment for
// `wisesr train`; the outermost scope takes over that record.
//
// Note [Launcher gone]
// With watch_launcher, the ticker also checks the parent process: a rank whose launcher (mpirun, orted,
// slurmstepd) died is an orphan that would go on training and writing checkpoints next to the job that
// replaces it. It ends itself (exit status 4) within a tick, with one line saying why.

#include <chrono>

namespace wisesr {

class StopSignalScope {
 public:
  struct Options {
    bool watch_launcher = false;  // end the process when the parent (the launcher) is gone
    std::chrono::milliseconds tick{250};
  };

  StopSignalScope();
  explicit StopSignalScope(const Options& options);
  ~StopSignalScope();  // the outermost scope restores the previous handlers
  StopSignalScope(const StopSignalScope&) = delete;
  StopSignalScope& operator=(const StopSignalScope&) = delete;

  /// The first stop signal received (SIGTERM, SIGINT, SIGUSR1, SIGUSR2 or SIGCONT), or 0.
  static int received();
  /// Forget a received signal (tests).
  static void reset();
  /// "SIGTERM", "SIGUSR1", ...; for SIGCONT, with why it stops the run.
  static const char* describe(int sig);

  /// True when a process launcher started this process (mpirun/orted, srun, a PMIx or PMI server): its
  /// standard environment variables say so. Then the parent process is the launcher.
  static bool launched_by_launcher();

  /// Exit status of a rank that ended itself because its launcher was gone.
  static constexpr int kLauncherGoneExit = 4;
};

}  // namespace wisesr
