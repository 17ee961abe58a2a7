/* Stop signals recorded from the first moment of `wisesr train`, before LibTorch's static initialisers
 * (about a second of operator registration on every start) and before main(): a SIGTERM or SIGUSR1 that
 * arrives then must not kill the rank (Note [Early stop signals] in core/stop_signal.h).
 *
 * The installer is in the executable's .preinit_array, which the dynamic loader runs before the
 * initialisers of every shared library. glibc passes (argc, argv, envp) to it: only `wisesr train` (and
 * `wisesr sweep`) install the handlers, every other subcommand keeps the default dispositions. The record
 * is read by core/stop_signal.cpp through a weak reference (other programs that link it have none). */
#include <signal.h>
#include <string.h>

static volatile sig_atomic_t g_early_signal = 0;

static void on_early_signal(int sig) {
  if (g_early_signal == 0) g_early_signal = sig;
}

int wisesr_early_stop_signal(void) { return (int)g_early_signal; }

static void wisesr_early_install(int argc, char** argv, char** envp) {
  (void)envp;
  if (argc < 2 || argv == NULL || argv[1] == NULL) return;
  if (strcmp(argv[1], "train") != 0 && strcmp(argv[1], "sweep") != 0) return;
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_early_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  const int signals[] = {SIGTERM, SIGINT, SIGUSR1, SIGUSR2};
  for (unsigned i = 0; i < sizeof(signals) / sizeof(signals[0]); ++i) sigaction(signals[i], &sa, NULL);
}

__attribute__((section(".preinit_array"),
               used)) static void (*const wisesr_early_preinit)(int, char**, char**) = wisesr_early_install;
