#include "guest/supervisor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace gatebox::guest {
namespace {

constexpr std::size_t kVerdictMax = 64 * 1024;
// kUnsafeVerdictFile of stack/stack.hpp, which the host's verdict stage recognises.
constexpr const char* kVerdictUnsafe = "(not a regular file of at most 64 KiB)";
// After the kill, the pipes reach EOF as soon as the killed processes are gone; this only
// bounds a pathological wait (a process stuck in the kernel).
constexpr int kDrainMs = 2000;

double now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1000.0 + static_cast<double>(ts.tv_nsec) / 1e6;
}

int open_signalfd() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  if (::sigprocmask(SIG_BLOCK, &set, nullptr) != 0) throw_errno("sigprocmask", errno);
  const int fd = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) throw_errno("signalfd", errno);
  return fd;
}

// The gate's stdout and stderr, forwarded within the job's output budget.
class OutputForwarder {
 public:
  OutputForwarder(FrameWriter& frames, std::uint64_t budget) : frames_(frames), budget_(budget) {}

  // Reads once from `fd`; false at EOF (or a read error).
  bool pump(int fd, vm::FrameType type) {
    char buf[vm::kMaxFramePayload];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) return errno == EINTR || errno == EAGAIN;
    if (n == 0) return false;
    std::size_t len = static_cast<std::size_t>(n);
    if (budget_ != 0) {
      const std::uint64_t left = budget_ - std::min(budget_, sent_);
      if (len > left) {
        len = static_cast<std::size_t>(left);
        truncated_ = true;  // the rest is read and dropped, so the gate never blocks on a full pipe
      }
    }
    if (len > 0) frames_.send(type, std::string_view(buf, len));
    sent_ += len;
    return true;
  }
  bool truncated() const { return truncated_; }

 private:
  FrameWriter& frames_;
  std::uint64_t budget_;
  std::uint64_t sent_ = 0;
  bool truncated_ = false;
};

// Walks `path` one component at a time with O_NOFOLLOW: a gate that replaces the verdict
// file (or a folder above it) by a symlink cannot make the agent read another file.
int open_no_symlinks(const std::string& path) {
  int dir = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  std::size_t pos = 0;
  while (dir >= 0) {
    while (pos < path.size() && path[pos] == '/') ++pos;
    std::size_t end = path.find('/', pos);
    const bool last = end == std::string::npos;
    const std::string name = path.substr(pos, last ? std::string::npos : end - pos);
    if (name.empty() || name == "..") {
      ::close(dir);
      errno = EINVAL;
      return -1;
    }
    const int flags = last ? O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC
                           : O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    const int next = ::openat(dir, name.c_str(), flags);
    const int e = errno;
    ::close(dir);
    errno = e;
    if (last || next < 0) return next;
    dir = next;
    pos = end + 1;
  }
  return -1;
}

void reap(pid_t gate, bool& gate_done, int& gate_status, double& end_ms) {
  while (true) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    if (pid == gate) {
      gate_done = true;
      gate_status = status;
      end_ms = now_ms();
    }
  }
}

}  // namespace

std::optional<std::string> read_verdict_file(const std::string& path) {
  const int fd = open_no_symlinks(path);
  if (fd < 0) return errno == ENOENT ? std::nullopt : std::optional<std::string>(kVerdictUnsafe);
  struct stat st{};
  std::string text;
  bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  if (ok) {
    char buf[16384];
    ssize_t n;
    while (text.size() <= kVerdictMax && (n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
    ok = text.size() <= kVerdictMax;
  }
  ::close(fd);
  if (!ok) return std::string(kVerdictUnsafe);
  return text;
}

vm::ExitReport supervise(const vm::Job& job, const GateProcess& gate, const GateCgroup& cgroup, FrameWriter& frames) {
  const int sfd = open_signalfd();
  OutputForwarder output(frames, job.output);
  vm::ExitReport report;
  bool out_open = true, err_open = true, setup_open = true;
  bool started = false, gate_done = false, killed = false;
  int gate_status = 0;
  double start_ms = now_ms(), end_ms = 0, kill_ms = 0;
  // The SIGCHLD of a fast gate may predate the signalfd.
  reap(gate.pid, gate_done, gate_status, end_ms);

  while (out_open || err_open || setup_open || !gate_done) {
    if (gate_done && !killed) {
      // The gate's end is the end of everything it started: daemonised descendants die
      // with it, so the pipes reach EOF. kill(-1) also reaches any process a uid-0 gate
      // moved out of the cgroup.
      write_at(cgroup.dir, "cgroup.kill", "1");
      ::kill(-1, SIGKILL);
      killed = true;
      kill_ms = now_ms();
    }
    pollfd fds[4];
    int n = 0;
    // The set-up pipe first: `started` must precede the gate's first output frame, and a
    // ready record is always written before the gate can produce output.
    if (setup_open) fds[n++] = {gate.setup, POLLIN, 0};
    if (out_open) fds[n++] = {gate.out, POLLIN, 0};
    if (err_open) fds[n++] = {gate.err, POLLIN, 0};
    fds[n++] = {sfd, POLLIN, 0};
    const int timeout = killed ? std::max(0, kDrainMs - static_cast<int>(now_ms() - kill_ms)) : -1;
    // The drain deadline holds even while output keeps poll() returning at once.
    if (killed && timeout == 0) break;
    const int rc = ::poll(fds, static_cast<nfds_t>(n), timeout);
    if (rc < 0 && errno != EINTR) throw_errno("poll", errno);
    if (rc == 0) break;  // drain deadline after the kill
    for (int i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      const int fd = fds[i].fd;
      if (fd == gate.setup) {
        GateRecord rec{};
        const ssize_t r = ::read(fd, &rec, sizeof rec);
        if (r == static_cast<ssize_t>(sizeof rec)) {
          const auto stage = static_cast<GateStage>(rec.stage);
          if (stage == GateStage::ready) {
            started = true;
            start_ms = now_ms();
            frames.send(vm::FrameType::started, "");
          } else if (stage == GateStage::exec) {
            report.exec_error = "cannot execute '" + job.argv.front() + "': " + std::strerror(rec.err);
          } else if (stage == GateStage::cwd) {
            throw SetupError("chdir to run.cwd '" + job.cwd + "': " + std::strerror(rec.err));
          } else {
            throw SetupError(std::string(gate_stage_name(stage)) + ": " + std::strerror(rec.err));
          }
        } else if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
          setup_open = false;
          if (!started) throw SetupError("the gate's process died before it could execute the gate");
        }
      } else if (fd == gate.out) {
        out_open = output.pump(fd, vm::FrameType::out);
      } else if (fd == gate.err) {
        err_open = output.pump(fd, vm::FrameType::err);
      } else if (fd == sfd) {
        signalfd_siginfo info;
        while (::read(sfd, &info, sizeof info) > 0) {
        }
        reap(gate.pid, gate_done, gate_status, end_ms);
      }
    }
  }
  bool ignored = false;
  int ignored_status = 0;
  double ignored_ms = 0;
  reap(-1, ignored, ignored_status, ignored_ms);
  ::close(sfd);

  if (WIFEXITED(gate_status)) report.exit_code = WEXITSTATUS(gate_status);
  if (WIFSIGNALED(gate_status)) report.signal = WTERMSIG(gate_status);
  report.run_ms = end_ms - start_ms;
  report.output_truncated = output.truncated();
  report.oom_killed = keyed_value(read_at(cgroup.dir, "memory.events"), "oom_kill") > 0;
  const std::string cpu = read_at(cgroup.dir, "cpu.stat");
  report.cpu_user_ms = keyed_value(cpu, "user_usec") / 1000;
  report.cpu_system_ms = keyed_value(cpu, "system_usec") / 1000;
  // Like the native stack: the largest resident set of any process the gate ran (the
  // agent's children and, as PID 1, every orphan it reaped). memory.peak would also count
  // page cache and tmpfs pages, which the other stacks do not report.
  rusage ru{};
  if (::getrusage(RUSAGE_CHILDREN, &ru) == 0) report.max_rss_kib = static_cast<std::uint64_t>(ru.ru_maxrss);
  if (report.max_rss_kib == 0) report.max_rss_kib = std::stoull("0" + read_at(cgroup.dir, "memory.peak")) / 1024;
  return report;
}

}  // namespace gatebox::guest
