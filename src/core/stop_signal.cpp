#include "core/stop_signal.h"

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "core/log.h"

namespace wisesr {
namespace {

// See Note [Which signals stop the run] in the header.
constexpr int64_t kStoppedGapNs = 1'500'000'000;  // a tick this late: the process was stopped
constexpr int64_t kResumeEchoNs = 5'000'000'000;  // SIGCONTs this soon after a resume belong to it

constexpr int kStopSignals[] = {SIGTERM, SIGINT, SIGUSR1, SIGUSR2};

volatile std::sig_atomic_t g_received = 0;
volatile std::sig_atomic_t g_job_control_stop = 0;  // SIGTSTP seen: the next SIGCONT resumes
std::atomic<int64_t> g_tick_ns{0};                  // ticker's last wake-up (0: no ticker)
std::atomic<int64_t> g_resumed_ns{INT64_MIN / 2};   // when the process last resumed from a stop
static_assert(std::atomic<int64_t>::is_always_lock_free, "signal handlers need lock-free atomics");

int64_t mono_ns() {  // async-signal-safe
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

extern "C" void on_stop_signal(int sig) {
  if (g_received == 0) g_received = sig;
}

extern "C" void on_sigcont(int) {
  const int64_t now = mono_ns();
  if (g_job_control_stop) {
    g_job_control_stop = 0;
    g_resumed_ns.store(now);
    return;
  }
  const int64_t tick = g_tick_ns.load();
  if (tick == 0) return;  // no ticker: cannot tell a resume from a request; SIGTERM follows anyway
  if (now - tick > kStoppedGapNs) {
    g_resumed_ns.store(now);
    return;
  }
  if (now - g_resumed_ns.load() < kResumeEchoNs) return;
  if (g_received == 0) g_received = SIGCONT;
}

extern "C" void on_sigtstp(int) {
  g_job_control_stop = 1;
  kill(getpid(), SIGSTOP);  // what SIGTSTP would have done; SIGCONT continues here
}

struct Installed {
  std::mutex mutex;
  int depth = 0;
  struct sigaction old[std::size(kStopSignals) + 2]{};
  std::thread ticker;
  std::condition_variable cv;
  bool stop = false;
};

Installed& installed() {
  static Installed* state = new Installed;  // never destroyed: handlers may outlive static destruction
  return *state;
}

void install(int sig, void (*handler)(int), struct sigaction* old) {
  struct sigaction sa {};
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // blocking calls (file I/O, MPI progress) continue after the handler
  WISESR_CHECK(sigaction(sig, &sa, old) == 0, "cannot install a handler for signal ", sig);
}

void run_ticker(Installed& s, std::chrono::milliseconds tick, bool watch_launcher) {
  const pid_t launcher = getppid();
  std::unique_lock<std::mutex> lock(s.mutex);
  int64_t last = mono_ns();
  g_tick_ns.store(last);
  while (!s.cv.wait_for(lock, tick, [&] { return s.stop; })) {
    const int64_t now = mono_ns();
    if (now - last > kStoppedGapNs) g_resumed_ns.store(now);  // woke up late: the process was stopped
    last = now;
    g_tick_ns.store(now);
    if (watch_launcher && getppid() != launcher) {
      std::fprintf(stderr,
                   "[rank %d] wisesr: error: the launcher (pid %d) is gone; ending this rank so that it "
                   "cannot overlap the job that replaces it\n",
                   log::rank(), static_cast<int>(launcher));
      std::fflush(stderr);
      std::_Exit(StopSignalScope::kLauncherGoneExit);  // see Note [Launcher gone]
    }
  }
  g_tick_ns.store(0);
}

}  // namespace
}  // namespace wisesr

// src/early_signals.c, in the wisesr executable only; other programs have none (null).
extern "C" int wisesr_early_stop_signal(void) __attribute__((weak));

namespace wisesr {

StopSignalScope::StopSignalScope() : StopSignalScope(Options{}) {}

StopSignalScope::StopSignalScope(const Options& options) {
  Installed& s = installed();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.depth++ > 0) return;
  if (g_received == 0 && wisesr_early_stop_signal != nullptr)
    g_received = wisesr_early_stop_signal();  // see Note [Early stop signals]
  size_t i = 0;
  for (int sig : kStopSignals) install(sig, on_stop_signal, &s.old[i++]);
  install(SIGCONT, on_sigcont, &s.old[i++]);
  install(SIGTSTP, on_sigtstp, &s.old[i++]);
  s.stop = false;
  s.ticker = std::thread(run_ticker, std::ref(s), options.tick, options.watch_launcher);
}

StopSignalScope::~StopSignalScope() {
  Installed& s = installed();
  std::unique_lock<std::mutex> lock(s.mutex);
  if (--s.depth > 0) return;
  s.stop = true;
  lock.unlock();
  s.cv.notify_all();
  if (s.ticker.joinable()) s.ticker.join();
  lock.lock();
  size_t i = 0;
  for (int sig : kStopSignals) sigaction(sig, &s.old[i++], nullptr);
  sigaction(SIGCONT, &s.old[i++], nullptr);
  sigaction(SIGTSTP, &s.old[i++], nullptr);
}

int StopSignalScope::received() { return static_cast<int>(g_received); }

void StopSignalScope::reset() {
  g_received = 0;
  g_job_control_stop = 0;
  g_resumed_ns.store(INT64_MIN / 2);
}

const char* StopSignalScope::describe(int sig) {
  switch (sig) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGUSR1:
      return "SIGUSR1";
    case SIGUSR2:
      return "SIGUSR2";
    case SIGCONT:
      return "SIGCONT: the launcher is ending the job";
    default:
      return "signal";
  }
}

bool StopSignalScope::launched_by_launcher() {
  // Open MPI's mpirun/orted, any PMIx server (Open MPI, Slurm's pmix plugin), PMI (MPICH's Hydra, srun
  // --mpi=pmi2), and Slurm's srun steps.
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "SLURM_STEP_ID"})
    if (std::getenv(var) != nullptr) return true;
  return false;
}

}  // namespace wisesr
