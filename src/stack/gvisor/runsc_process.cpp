#include "stack/gvisor/runsc_process.hpp"

#include <fcntl.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "util/caps.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"

namespace gatebox {
namespace {

using Clock = std::chrono::steady_clock;

// argv and envp as C arrays, built before fork: the child may not allocate.
struct ExecArgs {
  std::vector<std::string> storage;
  std::vector<char*> argv;
  std::vector<char*> envp;
  ExecArgs(const RunscCommand& cmd, const std::vector<std::string>& args) {
    storage.push_back(cmd.binary);
    storage.insert(storage.end(), cmd.global.begin(), cmd.global.end());
    storage.insert(storage.end(), args.begin(), args.end());
    for (auto& s : storage) argv.push_back(s.data());
    argv.push_back(nullptr);
    // runsc needs nothing from the environment; gatebox's must not reach the sandbox.
    static char path[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    envp = {path, nullptr};
  }
};

// RunscProcess::start's `confine`, in the child: namespaces first (they need
// CAP_SYS_ADMIN), then no_new_privs and every capability gone. False (errno set) on failure.
bool confine_child() {
  if (::geteuid() == 0) {
    if (::unshare(CLONE_NEWNET | CLONE_NEWIPC) != 0) return false;
  } else if (::unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWIPC) != 0 && errno != EPERM && errno != ENOSPC) {
    // An ordinary user needs a user namespace for the others; where the host forbids them
    // (EPERM, ENOSPC), the VMM is that user's process without capabilities anyway.
    return false;
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return false;
  return drop_bounding_set(63) && drop_capabilities();
}

// In the child, after fork: only async-signal-safe calls, failures end in _exit(127).
[[noreturn]] void exec_child(const ExecArgs& a, int out_fd, int err_fd, bool new_group, bool die_with_parent,
                             pid_t parent, bool confine = false) {
  restore_signals_in_child();
  if (new_group) ::setpgid(0, 0);
  if (die_with_parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
  }
  if (confine && !confine_child()) {
    static const char msg[] = "gatebox: could not confine the VMM (namespaces, capabilities, no_new_privs)\n";
    [[maybe_unused]] ssize_t w = ::write(err_fd, msg, sizeof msg - 1);
    ::_exit(126);
  }
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0 || ::dup2(null_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0) ::_exit(127);
  // Everything else gatebox holds is O_CLOEXEC; a caller's inherited fd is closed too.
  ::syscall(SYS_close_range, 3U, ~0U, 0U);
  ::execve(a.argv[0], a.argv.data(), a.envp.data());
  ::_exit(127);
}

}  // namespace

RunscProcess RunscProcess::start(const RunscCommand& cmd, const std::vector<std::string>& args, int stdout_fd,
                                 int stderr_fd, bool confine) {
  ExecArgs a(cmd, args);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw sys_error("fork", cmd.binary);
  if (pid == 0) exec_child(a, stdout_fd, stderr_fd, true, true, parent, confine);
  // Both sides set the group, so that kill_group() works whichever runs first.
  ::setpgid(pid, pid);
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) {
    const int err = errno;
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    throw sys_error("pidfd_open", cmd.binary, err);
  }
  return RunscProcess(pid, std::move(pidfd));
}

RunscProcess::RunscProcess(RunscProcess&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), pidfd_(std::move(o.pidfd_)), reaped_(std::exchange(o.reaped_, true)) {}

RunscProcess::~RunscProcess() {
  if (pid_ <= 0 || reaped_) return;
  kill_group();
  reap(nullptr);
}

void RunscProcess::kill_group() noexcept {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGKILL);
  if (!reaped_) ::kill(pid_, SIGKILL);
}

int RunscProcess::reap(struct rusage* usage) noexcept {
  int status = 0;
  struct rusage ru{};
  while (::wait4(pid_, &status, 0, &ru) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  if (usage != nullptr) *usage = ru;
  return status;
}

CommandResult run_runsc_command(const RunscCommand& cmd, const std::vector<std::string>& args,
                                std::chrono::milliseconds limit) {
  CommandResult result;
  Pipe out;
  try {
    out = make_pipe(O_NONBLOCK);
  } catch (const Error&) {
    return result;
  }
  ExecArgs a(cmd, args);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return result;
  if (pid == 0) exec_child(a, out.write.get(), out.write.get(), true, true, parent);
  out.write.reset();
  const Clock::time_point deadline = Clock::now() + limit;
  char buf[4096];
  bool open = true;
  while (open) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    pollfd p{out.read.get(), POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(left));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) break;
    ssize_t r = ::read(out.read.get(), buf, sizeof buf);
    if (r > 0) {
      if (result.output.size() < 65536) result.output.append(buf, static_cast<std::size_t>(r));
    } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
      open = false;
    }
  }
  // Still running past the limit (or holding the pipe open through a child): end it.
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!open && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

std::string find_executable(const std::string& name) {
  auto usable = [](const std::string& p) {
    struct stat st{};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  if (name.find('/') != std::string::npos) return usable(name) ? name : "";
  const char* path_env = std::getenv("PATH");
  std::string path = path_env != nullptr && *path_env != '\0' ? path_env : "/usr/local/bin:/usr/bin:/bin";
  path += ":/usr/sbin:/sbin";
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (!dir.empty() && usable(dir + "/" + name)) return dir + "/" + name;
    start = end + 1;
  }
  return "";
}

}  // namespace gatebox
