#pragma once
// runsc as a child process: `runsc run` in its own process group with the gate's stdio,
// and short helper commands (kill, delete, list) run to completion with a time bound.
#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "util/fd.hpp"

namespace gatebox {

// The runsc invocation of a run: the binary and the global flags every subcommand of this
// run must repeat (--root above all, or runsc looks in /var/run/runsc).
struct RunscCommand {
  std::string binary;               // absolute path
  std::vector<std::string> global;  // --root=R, --log=..., --platform=..., ...
};

// A started `runsc run`. Its destructor kills the process group and reaps it, so no path
// leaves a runsc behind.
class RunscProcess {
 public:
  // stdout_fd/stderr_fd become the gate's streams; stdin is /dev/null. The child gets
  // PR_SET_PDEATHSIG(SIGKILL): if gatebox is SIGKILLed, runsc dies, and with it the
  // sandbox (runsc run starts it --attached).
  //
  // `confine` (the VMMs): before exec the child enters new network and IPC namespaces (a
  // VMM needs neither: its console is a pipe; an ordinary user's VMM through a user
  // namespace, where the host allows one), drops every capability from all its sets
  // and the bounding set, and sets no_new_privs. It stays uid 0 only to open the files it
  // was handed (kernel, initramfs, /dev/kvm, all root's); an escape from the VMM gets a
  // process that can change no host setting, reach no network and gain nothing by exec.
  static RunscProcess start(const RunscCommand& cmd, const std::vector<std::string>& args, int stdout_fd,
                            int stderr_fd, bool confine = false);
  RunscProcess(RunscProcess&& o) noexcept;
  RunscProcess& operator=(RunscProcess&&) = delete;
  ~RunscProcess();

  pid_t pid() const { return pid_; }
  int pidfd() const { return pidfd_.get(); }  // readable once runsc has exited
  bool reaped() const { return reaped_; }
  void kill_group() noexcept;
  // Blocking wait; the status of waitpid.
  int reap(struct rusage* usage) noexcept;

 private:
  RunscProcess(pid_t pid, Fd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}
  pid_t pid_ = -1;
  Fd pidfd_;
  bool reaped_ = false;
};

struct CommandResult {
  int exit_code = -1;  // -1: killed or could not start
  std::string output;  // stdout and stderr together, at most 64 KiB
};

// Runs `binary global... args...` to completion (killed after `limit`). Never throws for the
// command's own failure; the caller decides what a non-zero exit means.
CommandResult run_runsc_command(const RunscCommand& cmd, const std::vector<std::string>& args,
                                std::chrono::milliseconds limit = std::chrono::seconds(10));

// The first executable `name` on PATH (or `name` itself when it has a slash); empty if none.
std::string find_executable(const std::string& name);

}  // namespace gatebox
