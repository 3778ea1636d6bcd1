#include "util/interrupt.hpp"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "util/error.hpp"

namespace gatebox {
namespace {
int g_fd = -1;
int g_latched = 0;
}  // namespace

void install_interrupt_handling() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) throw sys_error("sigprocmask", "");
  g_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (g_fd < 0) throw sys_error("signalfd", "");
  // A pipe reader that went away must not kill us before the sandbox is torn down.
  signal(SIGPIPE, SIG_IGN);
}

int interrupt_fd() { return g_fd; }

int pending_interrupt() {
  if (g_latched != 0 || g_fd < 0) return g_latched;
  signalfd_siginfo info;
  while (::read(g_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    if (g_latched == 0) g_latched = static_cast<int>(info.ssi_signo);
  }
  return g_latched;
}

void check_interrupt() {
  int sig = pending_interrupt();
  if (sig == SIGINT) throw Error(ExitCode::sigint, "interrupted (SIGINT)");
  if (sig == SIGTERM) throw Error(ExitCode::sigterm, "terminated (SIGTERM)");
}

void restore_signals_in_child() noexcept {
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    signal(sig, SIG_DFL);
  }
  sigset_t empty;
  sigemptyset(&empty);
  sigprocmask(SIG_SETMASK, &empty, nullptr);
}

}  // namespace gatebox
