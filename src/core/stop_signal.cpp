#include "core/stop_signal.h"

#include <atomic>

#include "core/error.h"

namespace wisesr {
namespace {

volatile std::sig_atomic_t g_received = 0;

extern "C" void on_stop_signal(int sig) {
  if (g_received == 0) g_received = sig;
}

}  // namespace

StopSignalScope::StopSignalScope() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // blocking calls (file I/O, MPI progress) continue after the handler
  WISESR_CHECK(sigaction(SIGTERM, &sa, &old_term_) == 0, "cannot install a SIGTERM handler");
  WISESR_CHECK(sigaction(SIGUSR1, &sa, &old_usr1_) == 0, "cannot install a SIGUSR1 handler");
}

StopSignalScope::~StopSignalScope() {
  sigaction(SIGTERM, &old_term_, nullptr);
  sigaction(SIGUSR1, &old_usr1_, nullptr);
}

int StopSignalScope::received() { return static_cast<int>(g_received); }

void StopSignalScope::reset() { g_received = 0; }

}  // namespace wisesr
