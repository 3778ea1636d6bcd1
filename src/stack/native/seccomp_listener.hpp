#pragma once
// seccomp.report on the native stack: the parent's side of the gate's seccomp listener.
// The filter sends every denied call here (SECCOMP_RET_USER_NOTIF); each is counted and
// answered as the policy's action would have answered it, so the gate sees no difference.
#include <linux/seccomp.h>
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "profile/profile.hpp"
#include "util/fd.hpp"

namespace gatebox {

// The process (thread group) that task `tid` belongs to, from <proc>/<tid>/status; -1 when
// the task is gone or the file cannot be read.
pid_t thread_group_of(pid_t tid, const std::filesystem::path& proc = "/proc");

class SeccompListener {
 public:
  // `socket` (non-blocking, not owned) is where init sends the listener (SCM_RIGHTS).
  SeccompListener(int socket, SeccompAction action) : socket_(socket), action_(action) {}

  // The descriptor to poll for POLLIN: the socket until the listener came, then the
  // listener; -1 once there is nothing more to wait for.
  int poll_fd() const;
  // Handles what poll reported on poll_fd(). Never blocks.
  void on_ready(short revents);

  // Syscall name -> times denied.
  std::map<std::string, std::uint64_t> denied() const;
  // With action = kill: a task was killed for a denied call (its wait status says SIGKILL
  // where the kernel's own kill would have said SIGSYS).
  bool killed() const { return killed_; }

 private:
  void receive_listener();
  void answer_one();
  // action = kill: SIGKILL to the whole process that made the call `req`, whichever of its
  // threads it was; false if that process is already gone.
  bool kill_process_of(const struct seccomp_notif& req);

  int socket_;
  bool socket_open_ = true;
  Fd listener_;
  SeccompAction action_;
  std::map<int, std::uint64_t> counts_;
  bool killed_ = false;
};

}  // namespace gatebox
