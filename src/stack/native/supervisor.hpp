#pragma once
// The parent side of a native run: one single-threaded poll loop that streams the gate's
// output, enforces the wall-clock timeout, answers SIGINT/SIGTERM, and collects the result.
#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>

#include "stack/native/cgroup.hpp"
#include "stack/native/plan.hpp"
#include "stack/stack.hpp"

namespace gatebox {

// The sandbox's init process. Killing it kills the whole PID namespace; the destructor
// makes sure that happened and reaps it, on every path.
class SandboxProcess {
 public:
  SandboxProcess(pid_t pid, Cgroup* cgroup) : pid_(pid), cgroup_(cgroup) {}
  ~SandboxProcess();
  SandboxProcess(const SandboxProcess&) = delete;
  SandboxProcess& operator=(const SandboxProcess&) = delete;

  pid_t pid() const { return pid_; }
  void kill() noexcept;
  // Blocks until init is reaped; returns its wait status and resource usage.
  int reap(struct rusage* usage) noexcept;
  bool reaped() const { return reaped_; }

 private:
  pid_t pid_;
  Cgroup* cgroup_;
  bool reaped_ = false;
};

struct SupervisorIo {
  int setup_read;   // SetupRecords from the child; EOF = the gate exec'd
  int status_read;  // StatusRecord (+ verdict file) from init
  int stdout_read;
  int stderr_read;
  int notify_read = -1;  // seccomp.report: the listener arrives here; -1 = no report
};

// Runs the loop to the end. Throws Error(70) if the sandbox failed before the gate started
// (Error(65) for a rootfs whose layout attacks set-up).
RunOutcome supervise(SandboxProcess& sandbox, const SetupPlan& plan, const SupervisorIo& io,
                     const RunRequest& request, std::chrono::steady_clock::time_point t_begin);

}  // namespace gatebox
