#include "util/helper_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/interrupt.hpp"

extern char** environ;

namespace gatebox {
namespace {

long long now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

// posix_spawn's attributes and file actions, released on every path.
struct SpawnSetup {
  posix_spawnattr_t attr{};
  posix_spawn_file_actions_t actions{};
  SpawnSetup() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

// A helper that closes its stdin early must not end gatebox with SIGPIPE (main ignores it;
// a library call should not depend on that): blocked around the write, and a SIGPIPE the
// write raised is taken off the thread's pending set.
ssize_t write_no_sigpipe(int fd, std::string_view bytes) {
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  const ssize_t n = ::write(fd, bytes.data(), bytes.size());
  const int saved = errno;
  if (n < 0 && saved == EPIPE) {
    const timespec zero{};
    while (::sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = saved;
  return n;
}

// The started helper: killed (its group and itself: it may have left the group) and reaped
// on every path that does not reap it first, exceptions included.
struct Child {
  pid_t pid;
  bool reaped = false;
  int status = 0;
  void end() noexcept {
    if (reaped) return;
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    reaped = true;
  }
  ~Child() { end(); }
};

}  // namespace

HelperResult run_helper(const std::vector<std::string>& argv, std::string_view input, int timeout_ms) {
  if (argv.empty()) throw make_error(ExitCode::internal, "run_helper: no program");
  Pipe in = make_pipe();
  Pipe out = make_pipe();
  Pipe err = make_pipe();

  SpawnSetup s;
  // gatebox blocks SIGINT/SIGTERM for its whole life (util/interrupt.hpp): the helper gets
  // an empty mask and default dispositions, and its own process group, so that a terminal's
  // ^C reaches gatebox, which then kills it.
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigemptyset(&defaults);
  for (int sig : {SIGINT, SIGTERM, SIGPIPE, SIGHUP, SIGQUIT}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&s.attr, &empty);
  posix_spawnattr_setsigdefault(&s.attr, &defaults);
  posix_spawnattr_setpgroup(&s.attr, 0);
  posix_spawnattr_setflags(&s.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  posix_spawn_file_actions_adddup2(&s.actions, in.read.get(), 0);
  posix_spawn_file_actions_adddup2(&s.actions, out.write.get(), 1);
  posix_spawn_file_actions_adddup2(&s.actions, err.write.get(), 2);

  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  if (int rc = ::posix_spawnp(&pid, args[0], &s.actions, &s.attr, args.data(), environ); rc != 0) {
    throw make_error(ExitCode::unavailable, "cannot run {}: {}", argv[0],
                     rc == ENOENT ? "not found in PATH" : std::strerror(rc));
  }
  Child child{pid};
  in.read.reset();
  out.write.reset();
  err.write.reset();
  if (::fcntl(in.write.get(), F_SETFL, O_NONBLOCK) != 0) throw sys_error("fcntl", "O_NONBLOCK");

  HelperResult result;
  std::size_t written = 0;
  if (input.empty()) in.write.reset();
  const long long deadline = now_ms() + timeout_ms;
  int signal_to_raise = 0;
  while (out.read.valid() || err.read.valid()) {
    const long long left = deadline - now_ms();
    if (left <= 0) {
      result.timed_out = true;
      break;
    }
    pollfd fds[4] = {{out.read.get(), POLLIN, 0}, {err.read.get(), POLLIN, 0}, {in.write.get(), POLLOUT, 0},
                     {interrupt_fd(), POLLIN, 0}};
    if (::poll(fds, 4, static_cast<int>(left)) < 0) {
      if (errno == EINTR) continue;
      throw sys_error("poll", argv[0]);
    }
    if ((signal_to_raise = pending_interrupt()) != 0) break;
    if (fds[2].revents != 0) {
      const ssize_t n = write_no_sigpipe(in.write.get(), input.substr(written));
      if (n > 0) written += static_cast<std::size_t>(n);
      if (n < 0 && errno != EAGAIN && errno != EINTR) written = input.size();  // it closed its stdin: fine
      if (written == input.size()) in.write.reset();
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents == 0) continue;
      Fd& fd = i == 0 ? out.read : err.read;
      std::string& sink = i == 0 ? result.out : result.err;
      const std::size_t cap = i == 0 ? (1u << 20) : (64u << 10);
      char buf[4096];
      const ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n > 0) {
        sink.append(buf, std::min(static_cast<std::size_t>(n), cap - std::min(cap, sink.size())));
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        fd.reset();
      }
    }
  }
  // Its output is closed; it may still run (closed its streams and went on): it gets the
  // rest of the time to exit.
  while (!result.timed_out && signal_to_raise == 0) {
    const pid_t got = ::waitpid(pid, &child.status, WNOHANG);
    if (got == pid) {
      child.reaped = true;
      break;
    }
    if (got < 0 && errno != EINTR) break;
    if (now_ms() >= deadline) {
      result.timed_out = true;
      break;
    }
    ::usleep(5'000);
    signal_to_raise = pending_interrupt();
  }
  const bool exited = child.reaped && WIFEXITED(child.status);
  const int code = exited ? WEXITSTATUS(child.status) : -1;
  child.end();  // timed out or interrupted: killed and reaped here
  if (signal_to_raise != 0) check_interrupt();
  if (!result.timed_out) result.exit_code = code;
  return result;
}

}  // namespace gatebox
