// seccomp.report: the filter sends denied calls to a listener, the native stack's
// SeccompListener counts and answers them as the policy's action would, and the names and
// the console line a gate author reads.
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include "policy/seccomp.hpp"
#include "report/report.hpp"
#include "stack/native/seccomp_listener.hpp"
#include "util/fd_passing.hpp"

using namespace gatebox;
namespace fs = std::filesystem;

namespace {

SeccompPolicy policy_of(const std::string& profile, SeccompAction action, bool notify) {
  Profile::Seccomp s;
  s.profile = profile;
  s.action = action;
  SeccompPolicy p = resolve_seccomp(s);
  p.notify = notify;
  return p;
}

bool returns_user_notif(const std::vector<sock_filter>& program) {
  for (const sock_filter& insn : program) {
    if (insn.code == (BPF_RET | BPF_K) && (insn.k & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_USER_NOTIF) return true;
  }
  return false;
}

struct Filtered {
  int status = 0;
  std::map<std::string, std::uint64_t> denied;
  bool killed = false;
};

// Runs `body` in a forked child under `program`, installed with a listener that the child
// sends back over a socket (as init does in the sandbox), and serves it with a
// SeccompListener until the child exits. The body returns the child's exit code.
Filtered run_with_listener(const std::vector<sock_filter>& program, SeccompAction action,
                           const std::function<int()>& body) {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::signal(SIGSYS, SIG_DFL);
    sock_fprog fprog{static_cast<unsigned short>(program.size()), const_cast<sock_filter*>(program.data())};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(200);
    int listener = static_cast<int>(::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fprog));
    if (listener < 0) ::_exit(201);
    // sendmsg and close are allowed by the default policy these tests use.
    if (send_fd(sv[1], listener) != 0) ::_exit(202);
    ::close(listener);
    ::_exit(body());
  }
  ::close(sv[1]);
  ::fcntl(sv[0], F_SETFL, O_NONBLOCK);
  SeccompListener listener(sv[0], action);
  Filtered out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (true) {
    if (::waitpid(pid, &out.status, WNOHANG) == pid) break;
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    pollfd p{listener.poll_fd(), POLLIN, 0};
    if (p.fd >= 0 && ::poll(&p, 1, 50) > 0) {
      listener.on_ready(p.revents);
    } else if (p.fd < 0) {
      ::usleep(10'000);
    }
  }
  ::close(sv[0]);
  out.denied = listener.denied();
  out.killed = listener.killed();
  return out;
}

int check_errno(long rc, int expected, int code) { return (rc == -1 && errno == expected) ? 0 : code; }

}  // namespace

TEST_SUITE("policy::seccomp_report") {
  TEST_CASE("notify changes the compiled denied action and the cached program's key") {
    const SeccompPolicy plain = policy_of("default", SeccompAction::errno_eperm, false);
    const SeccompPolicy notify = policy_of("default", SeccompAction::errno_eperm, true);
    CHECK_FALSE(returns_user_notif(compile_seccomp_bpf(plain)));
    CHECK(returns_user_notif(compile_seccomp_bpf(notify)));

    // A cache that ignored `notify` would hand a report run the plain program (no listener
    // traffic at all), or a plain run the notifying one (every denied call hanging).
    const fs::path dir = fs::temp_directory_path() / fmt::format("gatebox-seccomp-report-{}", ::getpid());
    fs::remove_all(dir);
    auto a = compile_seccomp_bpf_cached(plain, dir);
    auto b = compile_seccomp_bpf_cached(notify, dir);
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir / "seccomp")) ++files;
    CHECK(files == 2);
    CHECK_FALSE(returns_user_notif(compile_seccomp_bpf_cached(plain, dir)));
    CHECK(returns_user_notif(compile_seccomp_bpf_cached(notify, dir)));
    CHECK(a.size() == b.size());
    fs::remove_all(dir);
  }

  TEST_CASE("denied calls are counted by name and fail with EPERM; errno rules and allowed calls are not counted") {
    auto program = compile_seccomp_bpf(policy_of("default", SeccompAction::errno_eperm, true));
    Filtered r = run_with_listener(program, SeccompAction::errno_eperm, [] {
      if (int e = check_errno(::syscall(SYS_bpf, 0, nullptr, 0), EPERM, 10)) return e;
      if (int e = check_errno(::syscall(SYS_bpf, 0, nullptr, 0), EPERM, 11)) return e;
      if (int e = check_errno(::syscall(SYS_perf_event_open, nullptr, 0, -1, -1, 0), EPERM, 12)) return e;
      // clone3 is answered ENOSYS by its own rule (libc falls back to clone): not a denial.
      if (int e = check_errno(::syscall(SYS_clone3, nullptr, 0), ENOSYS, 13)) return e;
      return ::syscall(SYS_getpid) == ::getpid() ? 0 : 14;
    });
    REQUIRE(WIFEXITED(r.status));
    CHECK_MESSAGE(WEXITSTATUS(r.status) == 0, "failed check ", WEXITSTATUS(r.status));
    CHECK(r.denied == std::map<std::string, std::uint64_t>{{"bpf", 2}, {"perf_event_open", 1}});
    CHECK_FALSE(r.killed);
  }

  TEST_CASE("action log lets the counted call through; kill ends the calling process") {
    auto program = compile_seccomp_bpf(policy_of("strict", SeccompAction::log, true));
    // personality is not in strict: counted, then let through.
    Filtered r = run_with_listener(program, SeccompAction::log,
                                   [] { return ::syscall(SYS_personality, 0xffffffffUL) != -1 ? 0 : 1; });
    REQUIRE(WIFEXITED(r.status));
    CHECK(WEXITSTATUS(r.status) == 0);
    CHECK(r.denied == std::map<std::string, std::uint64_t>{{"personality", 1}});

    program = compile_seccomp_bpf(policy_of("default", SeccompAction::kill, true));
    r = run_with_listener(program, SeccompAction::kill, [] {
      ::syscall(SYS_bpf, 0, nullptr, 0);
      return 3;  // never reached
    });
    CHECK(WIFSIGNALED(r.status));
    CHECK(r.killed);
    CHECK(r.denied == std::map<std::string, std::uint64_t>{{"bpf", 1}});
  }

  TEST_CASE("kill ends the whole process when a second thread makes the denied call") {
    // The notification names the thread; a pidfd can only be had for its process.
    auto program = compile_seccomp_bpf(policy_of("default", SeccompAction::kill, true));
    Filtered r = run_with_listener(program, SeccompAction::kill, [] {
      long rc = 0;
      std::thread second([&rc] { rc = ::syscall(SYS_bpf, 0, nullptr, 0); });
      second.join();
      return rc == -1 && errno == EPERM ? 4 : 5;  // never reached when the process is killed
    });
    CHECK_MESSAGE(WIFSIGNALED(r.status), "the process went on; exit code ", WEXITSTATUS(r.status));
    CHECK(r.killed);
    CHECK(r.denied == std::map<std::string, std::uint64_t>{{"bpf", 1}});
  }

  TEST_CASE("a thread's process is read from /proc/TID/status") {
    CHECK(thread_group_of(::getpid()) == ::getpid());
    pid_t tid = 0, tgid = 0;
    std::thread second([&] {
      tid = static_cast<pid_t>(::syscall(SYS_gettid));
      tgid = thread_group_of(tid);
    });
    second.join();
    CHECK(tid != ::getpid());
    CHECK(tgid == ::getpid());
    CHECK(thread_group_of(-5) == -1);

    // A name that looks like the field is not the field.
    const fs::path proc = fs::temp_directory_path() / fmt::format("gatebox-fake-proc-{}", ::getpid());
    fs::create_directories(proc / "77");
    {
      std::FILE* f = std::fopen((proc / "77" / "status").c_str(), "w");
      REQUIRE(f != nullptr);
      std::fputs("Name:\tTgid: 1\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t70\nNgid:\t0\nPid:\t77\n", f);
      std::fclose(f);
    }
    CHECK(thread_group_of(77, proc) == 70);
    fs::create_directories(proc / "78");
    {
      std::FILE* f = std::fopen((proc / "78" / "status").c_str(), "w");
      REQUIRE(f != nullptr);
      std::fputs("Name:\tx\nTgid:\t7x\n", f);
      std::fclose(f);
    }
    CHECK(thread_group_of(78, proc) == -1);
    CHECK(thread_group_of(79, proc) == -1);
    fs::remove_all(proc);
  }

  TEST_CASE("other ABIs are still killed by the kernel, not sent to the listener") {
    auto program = compile_seccomp_bpf(policy_of("default", SeccompAction::errno_eperm, true));
    Filtered r = run_with_listener(program, SeccompAction::errno_eperm,
                                   [] { return ::syscall(0x40000000 | SYS_getpid) >= 0 ? 1 : 2; });
    CHECK(WIFSIGNALED(r.status));
    CHECK(WTERMSIG(r.status) == SIGSYS);
    CHECK(r.denied.empty());
  }

  TEST_CASE("call numbers map back to x86_64 names") {
    CHECK(x86_64_syscall_name(321) == "bpf");
    CHECK(x86_64_syscall_name(298) == "perf_event_open");
    CHECK(x86_64_syscall_name(0) == "read");
    CHECK(x86_64_syscall_name(462) == "mseal");  // newer than libseccomp's table
    CHECK(x86_64_syscall_name(9999) == "syscall_9999");
    for (int nr = 0; nr < 470; ++nr) {
      const std::string name = x86_64_syscall_name(nr);
      if (name.rfind("syscall_", 0) == 0) continue;
      CHECK_MESSAGE(x86_64_syscall_number(name) == nr, name);
    }
  }

  TEST_CASE("the console line lists the most frequent first and the --set that allows them") {
    Profile::Seccomp s;
    CHECK(seccomp_denied_line({}, s) == "seccomp denied no system calls");
    CHECK(seccomp_denied_line({{"bpf", 1}, {"perf_event_open", 3}}, s) ==
          "seccomp denied: perf_event_open ×3, bpf ×1 — to allow them: "
          "--set 'seccomp.allow=[\"bpf\",\"perf_event_open\"]'");
    // What the profile allows already is kept in the list (--set replaces it); a call the
    // profile denies on purpose is not suggested, nor a number x86_64 has no name for.
    s.allow = {"keyctl"};
    s.deny = {"mount"};
    CHECK(seccomp_denied_line({{"bpf", 2}, {"mount", 1}, {"syscall_999", 1}}, s) ==
          "seccomp denied: bpf ×2, mount ×1, syscall_999 ×1 — to allow them: "
          "--set 'seccomp.allow=[\"keyctl\",\"bpf\"]'");
    CHECK(seccomp_denied_line({{"mount", 4}}, s) == "seccomp denied: mount ×4");
  }
}
