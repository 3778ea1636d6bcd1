#include "stack/native/supervisor.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "stack/native/child.hpp"
#include "stack/native/seccomp_listener.hpp"
#include "stack/timing.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"

namespace gatebox {
namespace {

using Clock = std::chrono::steady_clock;

// A failure before the gate ran, in words: which step, which path, and errno's text.
Error setup_error(const SetupRecord& rec, const SetupPlan& plan) {
  const auto stage = static_cast<SetupStage>(rec.stage);
  std::string what = stage_name(stage);
  if (rec.op_index >= 0 && static_cast<std::size_t>(rec.op_index) < plan.ops.size()) {
    what += " " + plan.ops[static_cast<std::size_t>(rec.op_index)].what;
  }
  if (stage == SetupStage::op_target && (rec.err == ELOOP || rec.err == ENOTDIR || rec.err == EISDIR)) {
    return make_error(ExitCode::bad_input, "unsafe rootfs: {}: {} (a symlink or a file where a directory must be)",
                      what, std::strerror(rec.err));
  }
  if (stage == SetupStage::op_source) {
    return make_error(ExitCode::bad_input,
                      "{}: the source changed after gatebox checked it ({}; renamed, or swapped for a symlink); "
                      "nothing was mounted. Keep mount sources still while gatebox runs",
                      what, rec.err == ESTALE ? "it is now another file" : std::strerror(rec.err));
  }
  if (stage == SetupStage::op && rec.err == ENOSYS) {
    return make_error(ExitCode::internal,
                      "sandbox set-up failed: {}: {}: the native stack needs Linux 5.12 or later (open_tree, "
                      "mount_setattr) to bind [[mount]] sources recursively read-only, nosuid and nodev; use a "
                      "newer kernel or another stack", what, std::strerror(rec.err));
  }
  if (stage == SetupStage::cwd) {
    return make_error(ExitCode::internal, "sandbox set-up failed: chdir to run.cwd '{}': {}", plan.cwd,
                      std::strerror(rec.err));
  }
  return make_error(ExitCode::internal, "sandbox set-up failed: {}: {}", what, std::strerror(rec.err));
}

bool read_exact(int fd, void* buf, std::size_t n) {
  auto* p = static_cast<char*>(buf);
  while (n > 0) {
    ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

std::string signal_text(int sig) { return sig == SIGINT ? "SIGINT" : "SIGTERM"; }

}  // namespace

SandboxProcess::~SandboxProcess() {
  if (reaped_) return;
  kill();
  reap(nullptr);
}

void SandboxProcess::kill() noexcept {
  // Killing the PID namespace's init kills every process in the namespace; the cgroup
  // sweep is the second line, for anything the namespace did not hold.
  if (!reaped_) ::kill(pid_, SIGKILL);
  if (cgroup_ != nullptr) cgroup_->kill_all();
}

int SandboxProcess::reap(struct rusage* usage) noexcept {
  int status = 0;
  struct rusage ru{};
  while (::wait4(pid_, &status, 0, &ru) < 0) {
    if (errno != EINTR) break;
  }
  reaped_ = true;
  if (usage != nullptr) *usage = ru;
  return status;
}

RunOutcome supervise(SandboxProcess& sandbox, const SetupPlan& plan, const SupervisorIo& io,
                     const RunRequest& request, Clock::time_point t_begin) {
  RunOutcome outcome;
  LogSink& logs = request.logs;
  const auto timeout = request.profile.limits.timeout;
  // Set-up has its own bound: a wedged mount must not hang gatebox forever.
  Clock::time_point deadline = Clock::now() + std::chrono::seconds(60) + timeout;
  Clock::time_point t_started{};
  bool started = false, status_done = false, out_open = true, err_open = true, setup_open = true;
  bool killed = false;
  StatusRecord status{};
  bool have_status = false;
  std::string verdict_bytes;
  std::vector<char> buf(64 * 1024);
  SeccompListener seccomp(io.notify_read, request.profile.seccomp.action);

  auto kill_sandbox = [&] {
    if (!killed) sandbox.kill();
    killed = true;
  };

  while (setup_open || !status_done || out_open || err_open) {
    // The deadline is compared on every pass, not only when poll() times out: a gate that
    // keeps its pipes busy makes poll() return at once, every time.
    if (!killed && Clock::now() >= deadline) {
      if (!started) {
        kill_sandbox();
        throw make_error(ExitCode::internal, "sandbox set-up did not finish within 60 s");
      }
      outcome.timed_out = true;
      kill_sandbox();
    }
    pollfd fds[6];
    int n = 0;
    const int seccomp_fd = seccomp.poll_fd();
    auto add = [&](int fd, bool on) {
      if (on) fds[n++] = pollfd{fd, POLLIN, 0};
    };
    add(io.setup_read, setup_open);
    add(io.status_read, !status_done);
    add(io.stdout_read, out_open);
    add(io.stderr_read, err_open);
    add(interrupt_fd(), !outcome.interrupted && interrupt_fd() >= 0);
    add(seccomp_fd, seccomp_fd >= 0);
    int wait_ms = -1;
    if (!killed) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      wait_ms = static_cast<int>(std::max<long long>(0, std::min<long long>(left, 60'000)));
    } else {
      wait_ms = 5000;  // after a kill, what is left to read comes at once
    }
    int rc = ::poll(fds, static_cast<nfds_t>(n), wait_ms);
    if (rc < 0 && errno != EINTR) throw sys_error("poll", "sandbox pipes");
    if (rc == 0) {
      if (killed) break;  // nothing more will come
      continue;           // the deadline is checked at the top
    }
    for (int i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      const int fd = fds[i].fd;
      if (fd == seccomp_fd) {
        seccomp.on_ready(fds[i].revents);
      } else if (fd == interrupt_fd()) {
        int sig = pending_interrupt();
        if (sig != 0) {
          outcome.interrupted = true;
          outcome.interrupt_signal = sig;
          kill_sandbox();
          if (!started) throw make_error(sig == SIGINT ? ExitCode::sigint : ExitCode::sigterm,
                                         "{} during sandbox set-up; nothing was started", signal_text(sig));
        }
      } else if (fd == io.setup_read) {
        SetupRecord rec;
        ssize_t r = ::read(fd, &rec, sizeof rec);
        if (r == static_cast<ssize_t>(sizeof rec)) {
          if (static_cast<SetupStage>(rec.stage) != SetupStage::exec) {
            kill_sandbox();
            throw setup_error(rec, plan);
          }
          outcome.exec_error = fmt::format("cannot execute '{}': {}", plan.argv_storage.front(), std::strerror(rec.err));
        } else if (r == 0) {
          setup_open = false;
          started = true;
          t_started = Clock::now();
          outcome.timings.start_ms = ms_between(t_begin, t_started);
          deadline = t_started + timeout;
        } else if (r < 0 && errno != EINTR && errno != EAGAIN) {
          setup_open = false;
        }
      } else if (fd == io.status_read) {
        if (!have_status) {
          have_status = read_exact(fd, &status, sizeof status);
          if (!have_status) status_done = true;
          if (have_status && status.verdict_len > 0) {
            verdict_bytes.resize(static_cast<std::size_t>(status.verdict_len));
            if (!read_exact(fd, verdict_bytes.data(), verdict_bytes.size())) verdict_bytes.clear();
          }
        } else {
          ssize_t r = ::read(fd, buf.data(), buf.size());
          if (r <= 0 && !(r < 0 && errno == EINTR)) status_done = true;
        }
      } else {
        ssize_t r = ::read(fd, buf.data(), buf.size());
        if (r > 0) {
          logs.write(fd == io.stdout_read ? StreamId::out : StreamId::err, std::string_view(buf.data(), static_cast<std::size_t>(r)));
        } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
          (fd == io.stdout_read ? out_open : err_open) = false;
        }
      }
    }
  }
  if (!started) {
    // init died before the gate ran and said nothing: set-up failed in a way we could not see.
    sandbox.kill();
    throw Error(ExitCode::internal, "sandbox set-up failed: the sandbox exited before the gate started");
  }
  const Clock::time_point t_finished = Clock::now();
  outcome.timings.run_ms = ms_between(t_started, t_finished);
  sandbox.kill();
  struct rusage ru{};
  sandbox.reap(&ru);
  outcome.usage.cpu_user_ms = static_cast<std::uint64_t>(ru.ru_utime.tv_sec) * 1000 + static_cast<std::uint64_t>(ru.ru_utime.tv_usec) / 1000;
  outcome.usage.cpu_system_ms = static_cast<std::uint64_t>(ru.ru_stime.tv_sec) * 1000 + static_cast<std::uint64_t>(ru.ru_stime.tv_usec) / 1000;
  outcome.usage.max_rss_kib = static_cast<std::uint64_t>(ru.ru_maxrss);

  if (have_status && !outcome.timed_out && !outcome.interrupted) {
    if (WIFEXITED(status.wait_status)) outcome.exit_code = WEXITSTATUS(status.wait_status);
    if (WIFSIGNALED(status.wait_status)) outcome.signal = WTERMSIG(status.wait_status);
    if (status.verdict_len >= 0 && !plan.verdict_file.empty()) outcome.verdict_file = verdict_bytes;
    if (status.verdict_len == kVerdictUnsafe) {
      // Not JSON on purpose: the verdict stage reports it as a malformed verdict file.
      outcome.verdict_file = std::string(kUnsafeVerdictFile) + ")";
    }
  } else if (!have_status && !outcome.timed_out && !outcome.interrupted) {
    outcome.stack_error = "the sandbox's init exited without reporting the gate's status";
  }
  outcome.seccomp_denied = seccomp.denied();
  // The listener kills with SIGKILL (a SIGSYS could be caught); report what the kernel's
  // own kill action would have shown.
  if (seccomp.killed() && outcome.signal == SIGKILL) outcome.signal = SIGSYS;
  return outcome;
}

}  // namespace gatebox
