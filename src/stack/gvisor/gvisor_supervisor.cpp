#include "stack/gvisor/gvisor_supervisor.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>
#include <nlohmann/json.hpp>

#include "util/error.hpp"
#include "util/interrupt.hpp"
#include "util/fs.hpp"
#include "stack/timing.hpp"

namespace gatebox {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

// runsc saves the container's state after every change; "running" is saved right after
// the sandbox started the gate's process, the nearest moment to the gate's first
// instruction that runsc lets us see.
bool state_says_running(const fs::path& state_dir) {
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(state_dir, ec)) {
    if (e.path().extension() != ".state") continue;
    auto j = nlohmann::json::parse(read_file(e.path()).value_or(""), nullptr, false);
    if (j.is_object() && j.value("status", "") == "running") return true;
  }
  return false;
}

std::string tail_lines(const std::string& text, int n) {
  std::size_t pos = text.size();
  while (pos > 0 && text[pos - 1] == '\n') --pos;
  const std::size_t end = pos;
  while (pos > 0 && n > 0) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) {
      pos = 0;
      break;
    }
    --n;
    if (n == 0) ++pos;
  }
  return text.substr(pos, end - pos);
}

}  // namespace

std::string last_runsc_error(const std::string& log_text) {
  // runsc's JSON log entries are not always newline-separated.
  std::string text = log_text;
  for (std::size_t at = 0; (at = text.find("}{", at)) != std::string::npos; at += 2) text.replace(at, 2, "}\n{");
  std::istringstream in(text);
  std::string last_error, last_line;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    last_line = line;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.value("level", "") == "error") last_error = j.value("msg", line);
  }
  return last_error.empty() ? last_line : last_error;
}

std::string exec_failure_reason(const std::string& runsc_error) {
  constexpr std::string_view key = "failed to load ";
  const auto at = runsc_error.find(key);
  if (at == std::string::npos) return "";
  const auto colon = runsc_error.find(": ", at + key.size());
  return colon == std::string::npos ? "" : runsc_error.substr(colon + 2);
}

RunOutcome supervise_runsc(RunscProcess& runsc, const RunscRunIo& io, const std::function<OomWatch()>& open_oom,
                           const RunRequest& request,
                           Clock::time_point t_begin, const KillContainer& kill_container) {
  RunOutcome outcome;
  OomWatch oom;
  bool oom_opened = false;
  Fd inotify(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify || ::inotify_add_watch(inotify.get(), io.state_dir.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
    throw sys_error("inotify_add_watch", io.state_dir.string());
  }
  // runsc's own set-up has a bound too: a wedged sandbox must not hang gatebox.
  Clock::time_point deadline = t_begin + std::chrono::seconds(60);
  Clock::time_point t_started{};
  bool started = false, exited = false, out_open = true, err_open = true, killed = false;
  // runsc saved a container state: the sandbox was made. A runsc that exits without ever
  // saving one failed on its own (a broken install, a refused spec), whatever its status.
  bool sandbox_made = false;
  int status = 0;
  struct rusage ru{};
  // Output that comes before "running" is seen: the gate's (flushed once it is) or, if
  // runsc fails, runsc's own complaint, which then belongs in the error, not the gate's log.
  // Bounded: past 1 MiB the pipes are no longer read until "running" is seen, so a gate
  // that floods before then waits in its write instead of growing this.
  std::vector<std::pair<StreamId, std::string>> early;
  std::size_t early_bytes = 0;
  constexpr std::size_t kEarlyMax = 1 << 20;
  std::vector<char> buf(64 * 1024);

  // The kill runs beside the loop, which keeps draining the pipes meanwhile: a gate whose
  // write blocks in the Sentry on a full host pipe cannot die until the pipe is read, so a
  // kill that waited for it without reading would wait out its whole bound (5 s and more).
  std::thread killer;
  struct JoinKiller {
    std::thread& t;
    ~JoinKiller() {
      if (t.joinable()) t.join();
    }
  } join_killer{killer};
  auto kill_all = [&] {
    if (!killed) {
      killer = std::thread([&kill_container] {
        try {
          kill_container();
        } catch (...) {
          // Bounded commands whose failure the caller's guards (delete, kill_group) cover.
        }
      });
    }
    killed = true;
  };
  auto mark_started = [&] {
    if (started) return;
    started = true;
    t_started = Clock::now();
    outcome.timings.start_ms = ms_between(t_begin, t_started);
    deadline = t_started + request.profile.limits.timeout;
    for (auto& [stream, bytes] : early) request.logs.write(stream, bytes);
    early.clear();
    early_bytes = 0;
  };
  auto fail_before_start = [&](const std::string& what) {
    std::string text = last_runsc_error(read_file(io.log_file).value_or(""));
    std::string said;
    for (auto& [stream, bytes] : early) said += bytes;
    if (text.empty()) text = tail_lines(said, 5);
    return make_error(ExitCode::internal, "runsc failed before the gate started: {}{}{}", what,
                      text.empty() ? "" : ": ", text);
  };

  // What the deadline means depends on how far runsc got; checked on every pass, not only
  // when poll() times out: a gate that keeps its pipes busy makes poll() return at once.
  auto on_deadline = [&] {
    if (!started && !state_says_running(io.state_dir)) {
      kill_all();
      throw fail_before_start("the sandbox did not start the gate within 60 s");
    }
    if (started) {
      outcome.timed_out = true;
      kill_all();
    } else {
      mark_started();
    }
  };

  while (!exited || out_open || err_open) {
    if (!killed && Clock::now() >= deadline) on_deadline();
    pollfd fds[6];
    int n = 0;
    auto add = [&](int fd, short events) {
      if (fd >= 0) fds[n++] = pollfd{fd, events, 0};
    };
    const bool hold_output = !started && early_bytes >= kEarlyMax;
    if (out_open && !hold_output) add(io.stdout_read, POLLIN);
    if (err_open && !hold_output) add(io.stderr_read, POLLIN);
    if (!started) add(inotify.get(), POLLIN);
    if (!exited) add(runsc.pidfd(), POLLIN);
    add(oom.fd(), oom.events());
    if (!outcome.interrupted) add(interrupt_fd(), POLLIN);
    // After a kill, what is left in the pipes comes at once: 5 s of silence end the drain
    // while runsc still runs, 1 s once it has exited (its sandbox processes may hold the
    // pipes a while longer as they tear down, and a loaded host made that a 5 s wait).
    int wait_ms = exited ? 1000 : 5000;
    if (!killed) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      wait_ms = static_cast<int>(std::clamp<long long>(left, 0, 60'000));
    }
    const int rc = ::poll(fds, static_cast<nfds_t>(n), wait_ms);
    if (rc < 0 && errno != EINTR) throw sys_error("poll", "runsc pipes");
    if (rc == 0) {
      if (killed) break;
      continue;  // the deadline is checked at the top
    }
    for (int i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      const int fd = fds[i].fd;
      if (fd == interrupt_fd()) {
        if (const int sig = pending_interrupt(); sig != 0) {
          outcome.interrupted = true;
          outcome.interrupt_signal = sig;
          kill_all();
          if (!started) {
            throw make_error(sig == SIGINT ? ExitCode::sigint : ExitCode::sigterm,
                             "{} during sandbox set-up; nothing was started", sig == SIGINT ? "SIGINT" : "SIGTERM");
          }
        }
      } else if (fd == inotify.get()) {
        char events[4096];
        while (::read(fd, events, sizeof events) > 0) sandbox_made = true;
        if (!oom_opened) {
          oom = open_oom();
          oom_opened = oom.fd() >= 0;
        }
        if (state_says_running(io.state_dir)) mark_started();
      } else if (fd == runsc.pidfd()) {
        exited = true;  // reaped after the loop, once the killer is done with its process group
      } else if (fd == oom.fd()) {
        oom.update();
      } else {
        const StreamId stream = fd == io.stdout_read ? StreamId::out : StreamId::err;
        const ssize_t r = ::read(fd, buf.data(), buf.size());
        if (r > 0) {
          std::string_view bytes(buf.data(), static_cast<std::size_t>(r));
          if (started) {
            request.logs.write(stream, bytes);
          } else {
            early.emplace_back(stream, std::string(bytes));
            early_bytes += bytes.size();
          }
        } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
          (stream == StreamId::out ? out_open : err_open) = false;
        }
      }
    }
  }
  oom.update();
  if (!exited) kill_all();
  if (killer.joinable()) killer.join();
  status = runsc.reap(&ru);
  const Clock::time_point t_finished = Clock::now();
  const std::string runsc_error = WIFEXITED(status) && WEXITSTATUS(status) == 128 ? last_runsc_error(read_file(io.log_file).value_or("")) : "";

  if (!started && !outcome.timed_out && !outcome.interrupted) {
    if (const std::string reason = exec_failure_reason(runsc_error); !reason.empty()) {
      // The sandbox ran, the gate's program could not: a verdict (127/126), as on every stack.
      outcome.exec_error = fmt::format("cannot execute '{}': {}", request.profile.run.argv.front(), reason);
      outcome.exit_code = reason.find("no such file") != std::string::npos ? 127 : 126;
      outcome.timings.start_ms = ms_between(t_begin, t_finished);
      return outcome;
    }
    if (!sandbox_made) {
      char events[4096];
      sandbox_made = ::read(inotify.get(), events, sizeof events) > 0;  // saved, not yet read
    }
    if (!runsc_error.empty() || !WIFEXITED(status)) throw fail_before_start(fmt::format("runsc exited with status {}", status));
    if (!sandbox_made) {
      throw fail_before_start(fmt::format("runsc exited with status {} without making a sandbox",
                                          WEXITSTATUS(status)));
    }
    mark_started();  // a gate that ended before its "running" state could be read
  }
  outcome.timings.run_ms = ms_between(t_started, t_finished);
  outcome.usage.cpu_user_ms = static_cast<std::uint64_t>(ru.ru_utime.tv_sec) * 1000 + static_cast<std::uint64_t>(ru.ru_utime.tv_usec) / 1000;
  outcome.usage.cpu_system_ms = static_cast<std::uint64_t>(ru.ru_stime.tv_sec) * 1000 + static_cast<std::uint64_t>(ru.ru_stime.tv_usec) / 1000;
  outcome.usage.max_rss_kib = static_cast<std::uint64_t>(ru.ru_maxrss);
  outcome.oom_killed = oom.oom_killed();
  if (outcome.timed_out || outcome.interrupted) return outcome;

  if (!runsc_error.empty()) {
    outcome.stack_error = "runsc failed: " + runsc_error;
  } else if (WIFEXITED(status)) {
    // runsc run exits with the gate's code, or 128+N when a signal N killed the gate.
    const int code = WEXITSTATUS(status);
    if (code > 128 && code <= 128 + 64) {
      outcome.signal = code - 128;
    } else {
      outcome.exit_code = code;
    }
  } else if (!outcome.oom_killed) {
    outcome.stack_error = fmt::format("runsc was killed by signal {}", WTERMSIG(status));
  }
  return outcome;
}

}  // namespace gatebox
