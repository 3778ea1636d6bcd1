// The seccomp policy: the default list against Docker's own profile, the profile edits, and
// the compiled BPF program installed in a real child process.
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <fstream>
#include <functional>
#include <set>
#include <string>

#include "policy/docker_seccomp.hpp"
#include "policy/seccomp.hpp"
#include "util/error.hpp"

using namespace gatebox;
using nlohmann::json;

namespace {

// One allowed shape of a call, comparable across sources: "name", "name[0 SCMP_CMP_EQ 8 0]",
// "name=>errno 38". Alternatives of one name are separate entries of the set.
using RuleSet = std::multiset<std::string>;

std::string op_name(ArgCond::Op op) {
  switch (op) {
    case ArgCond::Op::eq: return "SCMP_CMP_EQ";
    case ArgCond::Op::ne: return "SCMP_CMP_NE";
    case ArgCond::Op::masked_eq: return "SCMP_CMP_MASKED_EQ";
    case ArgCond::Op::lt: return "SCMP_CMP_LT";
    case ArgCond::Op::le: return "SCMP_CMP_LE";
    case ArgCond::Op::gt: return "SCMP_CMP_GT";
    case ArgCond::Op::ge: return "SCMP_CMP_GE";
  }
  return "?";
}

std::string shape(const std::string& name, std::vector<std::string> args, int errno_ret) {
  std::sort(args.begin(), args.end());
  std::string out = name;
  for (const auto& a : args) out += "[" + a + "]";
  if (errno_ret != 0) out += "=>errno " + std::to_string(errno_ret);
  return out;
}

RuleSet shapes_of(const std::vector<SyscallRule>& rules) {
  RuleSet out;
  for (const auto& r : rules) {
    std::vector<std::string> args;
    for (const auto& a : r.args) {
      args.push_back(fmt::format("{} {} {} {}", a.index, op_name(a.op), a.value, a.value_two));
    }
    out.insert(shape(r.name, args, r.errno_ret));
  }
  return out;
}

bool contains(const json& list, std::string_view value) {
  return std::any_of(list.begin(), list.end(), [&](const json& v) { return v.get<std::string>() == value; });
}

// Docker's rule for whether an entry applies: to a container on amd64 that was given no
// capabilities, on a kernel newer than every minKernel in the file.
bool applies_to_unprivileged_amd64(const json& entry) {
  const json includes = entry.value("includes", json::object());
  const json excludes = entry.value("excludes", json::object());
  if (!includes.value("caps", json::array()).empty()) return false;
  json arches = includes.value("arches", json::array());
  if (!arches.empty() && !contains(arches, "amd64")) return false;
  if (contains(excludes.value("arches", json::array()), "amd64")) return false;
  // excludes.caps removes an entry only from containers that hold the capability.
  return true;
}

// What a Docker-format profile lets an unprivileged amd64 container do.
RuleSet shapes_of(const json& profile) {
  RuleSet out;
  for (const auto& entry : profile.at("syscalls")) {
    if (!applies_to_unprivileged_amd64(entry)) continue;
    std::string action = entry.at("action");
    REQUIRE((action == "SCMP_ACT_ALLOW" || action == "SCMP_ACT_ERRNO"));
    int errno_ret = action == "SCMP_ACT_ERRNO" ? entry.value("errnoRet", 1) : 0;
    std::vector<std::string> args;
    for (const auto& a : entry.value("args", json::array())) {
      args.push_back(fmt::format("{} {} {} {}", a.at("index").get<unsigned>(), a.at("op").get<std::string>(),
                                 a.at("value").get<std::uint64_t>(), a.value("valueTwo", std::uint64_t{0})));
    }
    for (const auto& name : entry.at("names")) out.insert(shape(name, args, errno_ret));
  }
  return out;
}

json load_reference() {
  std::ifstream in(std::string(GATEBOX_REFERENCE_DIR) + "/docker-default-seccomp.json");
  REQUIRE(in.good());
  return json::parse(in);
}

Profile::Seccomp seccomp_section(std::string profile, std::vector<std::string> allow = {},
                                 std::vector<std::string> deny = {}) {
  Profile::Seccomp s;
  s.profile = std::move(profile);
  s.allow = std::move(allow);
  s.deny = std::move(deny);
  return s;
}

std::set<std::string> names_of(const SeccompPolicy& p) {
  std::set<std::string> names;
  for (const auto& r : p.rules) names.insert(r.name);
  return names;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::bad_input);
    return e.what();
  }
  FAIL("no error was thrown");
  return {};
}

// doctest catches crash signals to report them; a forked child must die of them instead.
void restore_default_signals() {
  for (int sig : {SIGSEGV, SIGILL, SIGFPE, SIGBUS, SIGABRT, SIGSYS, SIGTERM, SIGINT}) signal(sig, SIG_DFL);
}

// Runs `body` in a forked child under `program` and returns the wait status. The body
// returns the child's exit code; it must stay within async-signal-safe calls.
int run_filtered(const std::vector<sock_filter>& program, const std::function<int()>& body) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    restore_default_signals();
    sock_fprog fprog{static_cast<unsigned short>(program.size()), const_cast<sock_filter*>(program.data())};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(200);
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0) _exit(201);
    _exit(body());
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  return status;
}

bool killed_by_sigsys(int status) { return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS; }

// Each check returns 0 when the call behaved as the policy says, or a distinct code naming it.
int check_errno(long rc, int expected, int code) { return (rc == -1 && errno == expected) ? 0 : code; }

int default_policy_checks() {
  pid_t me = getpid();
  if (syscall(SYS_getpid) != me) return 10;
  // Without the filter this mount fails with ENOENT (no such target), never with EPERM.
  long rc = syscall(SYS_mount, "none", "/nonexistent-gatebox", "tmpfs", 0, nullptr);
  if (int r = check_errno(rc, EPERM, 11)) return r;
  if (int r = check_errno(syscall(SYS_unshare, CLONE_NEWUSER), EPERM, 12)) return r;
  if (int r = check_errno(syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0), EPERM, 13)) return r;
  if (int r = check_errno(syscall(SYS_bpf, 0, nullptr, 0), EPERM, 14)) return r;
  if (int r = check_errno(syscall(SYS_clone3, nullptr, 0), ENOSYS, 15)) return r;
  long child = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, 0);
  if (child == 0) _exit(0);
  if (int r = check_errno(child, EPERM, 16)) return r;
  if (int r = check_errno(syscall(SYS_socket, 40 /* AF_VSOCK */, SOCK_STREAM, 0), EPERM, 17)) return r;
  long fd = syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) return 18;
  close(static_cast<int>(fd));
  if (syscall(SYS_personality, 0xffffffffUL) == -1) return 19;
  if (int r = check_errno(syscall(SYS_personality, 0x0006 /* PER_BSD */), EPERM, 20)) return r;
  // An ordinary fork still works: clone without namespace flags.
  pid_t forked = fork();
  if (forked == 0) _exit(7);
  int status = 0;
  if (forked < 0 || waitpid(forked, &status, 0) != forked) return 21;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 7) return 22;
  return 0;
}

std::string run_shell(const std::vector<sock_filter>& program, const char* path, const char* script, int& status) {
  int fds[2];
  REQUIRE(pipe2(fds, O_CLOEXEC) == 0);
  status = run_filtered(program, [&] {
    dup2(fds[1], 1);
    // busybox picks the applet from argv[0].
    const char* argv[] = {"sh", "-c", script, nullptr};
    const char* envp[] = {"PATH=/usr/bin:/bin", nullptr};
    execve(path, const_cast<char**>(argv), const_cast<char**>(envp));
    return 127;
  });
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  close(fds[0]);
  return out;
}

// Docker's profile with gatebox's one deliberate change: Docker's "socket family > 40" compares
// the whole 64-bit register, and 1 << 32 | AF_VSOCK passes it (the kernel reads an int), so
// gatebox names the families above AF_VSOCK (41 to 45) one by one instead.
RuleSet docker_as_gatebox_means_it() {
  RuleSet docker = shapes_of(load_reference());
  const auto wide = docker.find("socket[0 SCMP_CMP_GT 40 0]");
  REQUIRE(wide != docker.end());
  docker.erase(wide);
  for (int family = 41; family <= 45; ++family) docker.insert(fmt::format("socket[0 SCMP_CMP_EQ {} 0]", family));
  return docker;
}

}  // namespace

TEST_SUITE("policy::seccomp") {
  TEST_CASE("default allows exactly what Docker's default profile allows an unprivileged x86_64 container") {
    RuleSet docker = docker_as_gatebox_means_it();
    RuleSet ours = shapes_of(default_allowlist());
    REQUIRE(docker.size() > 300);

    std::vector<std::string> missing, extra;
    std::set_difference(docker.begin(), docker.end(), ours.begin(), ours.end(), std::back_inserter(missing));
    std::set_difference(ours.begin(), ours.end(), docker.begin(), docker.end(), std::back_inserter(extra));
    CHECK_MESSAGE(missing.empty(), "Docker allows, gatebox does not: ", fmt::format("{}", fmt::join(missing, " ")));
    CHECK_MESSAGE(extra.empty(), "gatebox allows, Docker does not: ", fmt::format("{}", fmt::join(extra, " ")));

    // Spot checks that pin the semantics rather than the data.
    CHECK(docker.count("ptrace") == 1);      // minKernel 4.8 is met
    CHECK(docker.count("arch_prctl") == 1);  // includes.arches has amd64
    CHECK(docker.count("mount") == 0);       // needs CAP_SYS_ADMIN
    CHECK(docker.count("clone3=>errno 38") == 1);
    CHECK(docker.count("clone[0 SCMP_CMP_MASKED_EQ 2114060288 0]") == 1);
    CHECK(docker.count("sync_file_range2") == 0);  // ppc64le and arm only
  }

  TEST_CASE("the Docker rendering of the default policy allows the same calls") {
    SeccompPolicy policy = resolve_seccomp(seccomp_section("default"));
    json rendered = render_docker_seccomp(policy);
    CHECK(rendered["defaultAction"] == "SCMP_ACT_ERRNO");
    CHECK(rendered["defaultErrnoRet"] == 1);
    CHECK(rendered["architectures"] == json::array({"SCMP_ARCH_X86_64"}));
    CHECK(shapes_of(rendered) == docker_as_gatebox_means_it());

    policy.action = SeccompAction::kill;
    rendered = render_docker_seccomp(policy);
    CHECK(rendered["defaultAction"] == "SCMP_ACT_KILL_PROCESS");
    CHECK_FALSE(rendered.contains("defaultErrnoRet"));

    SeccompPolicy open = resolve_seccomp(seccomp_section("unconfined"));
    CHECK(render_docker_seccomp(open)["defaultAction"] == "SCMP_ACT_ALLOW");
  }

  TEST_CASE("allow adds an unconditional rule and deny removes every rule of the name") {
    SeccompPolicy p = resolve_seccomp(seccomp_section("default", {"mount", "personality"}, {"ptrace", "socket"}));
    CHECK(shapes_of(p.rules).count("mount") == 1);
    // personality's five value-conditions give way to one unconditional rule.
    CHECK(std::count_if(p.rules.begin(), p.rules.end(), [](auto& r) { return r.name == "personality"; }) == 1);
    CHECK(shapes_of(p.rules).count("personality") == 1);
    CHECK(names_of(p).count("ptrace") == 0);
    CHECK(names_of(p).count("socket") == 0);
    CHECK(names_of(p).count("read") == 1);

    // Deny wins over allow.
    SeccompPolicy both = resolve_seccomp(seccomp_section("strict", {"ptrace"}, {"ptrace"}));
    CHECK(names_of(both).count("ptrace") == 0);
  }

  TEST_CASE("names that are not x86_64 system calls are refused with a suggestion") {
    CHECK(error_of([] { resolve_seccomp(seccomp_section("default", {"ptrac"})); }) ==
          "seccomp.allow: 'ptrac' is not a system call on x86_64 (did you mean 'ptrace'?)");
    CHECK(error_of([] { resolve_seccomp(seccomp_section("default", {}, {"chown32"})); }) ==
          "seccomp.deny: 'chown32' is not a system call on x86_64 (did you mean 'chown'?)");
    CHECK(error_of([] { resolve_seccomp(seccomp_section("default", {"zzzzzzzzzzzz"})); }) ==
          "seccomp.allow: 'zzzzzzzzzzzz' is not a system call on x86_64");
    // Newer than libseccomp 2.5.4's table, still a real x86_64 call.
    CHECK(x86_64_syscall_number("mseal") == 462);
    CHECK(x86_64_syscall_number("getpid") == SYS_getpid);
    CHECK_NOTHROW(resolve_seccomp(seccomp_section("strict", {"mseal"})));
  }

  TEST_CASE("unconfined has no rules and refuses allow and deny") {
    SeccompPolicy p = resolve_seccomp(seccomp_section("unconfined"));
    CHECK(p.unconfined);
    CHECK(p.rules.empty());
    CHECK(compile_seccomp_bpf(p).empty());
    CHECK(error_of([] { resolve_seccomp(seccomp_section("unconfined", {}, {"ptrace"})); }).find("unconfined") !=
          std::string::npos);
    CHECK(error_of([] { resolve_seccomp(seccomp_section("paranoid")); }).find("'paranoid'") != std::string::npos);
  }

  TEST_CASE("strict is a much smaller subset of default") {
    std::set<std::string> strict = names_of(resolve_seccomp(seccomp_section("strict")));
    std::set<std::string> dflt = names_of(resolve_seccomp(seccomp_section("default")));
    std::vector<std::string> outside;
    std::set_difference(strict.begin(), strict.end(), dflt.begin(), dflt.end(), std::back_inserter(outside));
    CHECK_MESSAGE(outside.empty(), fmt::format("{}", fmt::join(outside, " ")));
    CHECK(strict.size() * 2 < dflt.size());
    for (const char* name : {"ptrace", "mount", "bpf", "keyctl", "unshare", "setns", "perf_event_open",
                             "io_uring_setup", "userfaultfd", "setuid"}) {
      CHECK_MESSAGE(strict.count(name) == 0, name);
    }
    for (const auto& rule : strict_allowlist()) CHECK_MESSAGE(x86_64_syscall_number(rule.name), rule.name);
  }

  TEST_CASE("compiled programs are non-empty and within the kernel's size limit") {
    for (const char* name : {"default", "strict"}) {
      auto program = compile_seccomp_bpf(resolve_seccomp(seccomp_section(name)));
      CHECK_MESSAGE(program.size() > 10, name);
      CHECK_MESSAGE(program.size() <= 4096, name);
    }
  }

  TEST_CASE("the default filter denies what Docker denies, in a real process") {
    auto program = compile_seccomp_bpf(resolve_seccomp(seccomp_section("default")));
    int status = run_filtered(program, default_policy_checks);
    REQUIRE(WIFEXITED(status));
    CHECK_MESSAGE(WEXITSTATUS(status) == 0, "failed check code ", WEXITSTATUS(status));
  }

  TEST_CASE("other ABIs are killed: x32 numbers and int 0x80") {
    auto program = compile_seccomp_bpf(resolve_seccomp(seccomp_section("default")));
    constexpr long x32_bit = 0x40000000;
    int status = run_filtered(program, [] { return syscall(x32_bit | SYS_getpid) >= 0 ? 1 : 0; });
    CHECK_MESSAGE(killed_by_sigsys(status), "wait status ", status);

    // i386 getpid (20) through the 32-bit entry point. Some kernels run without IA32
    // emulation, where int 0x80 faults anyway; the filter only matters where it works.
    auto int80_getpid = [] {
      long ret = 20;
      // The 32-bit entry point zeroes r8-r11 of a 64-bit caller.
      __asm__ __volatile__("int $0x80" : "+a"(ret) : : "r8", "r9", "r10", "r11", "memory", "cc");
      return ret > 0 ? 0 : 1;
    };
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      restore_default_signals();
      _exit(int80_getpid());
    }
    int unfiltered = 0;
    REQUIRE(waitpid(pid, &unfiltered, 0) == pid);
    if (WIFEXITED(unfiltered) && WEXITSTATUS(unfiltered) == 0) {
      status = run_filtered(program, int80_getpid);
      CHECK_MESSAGE(killed_by_sigsys(status), "wait status ", status);
    } else {
      MESSAGE("int 0x80 does not work here even without a filter (wait status ", unfiltered,
              "); the i386 ABI cannot be reached, nothing to filter");
    }
  }

  TEST_CASE("action kill kills the process on a denied call, log lets it through") {
    Profile::Seccomp s = seccomp_section("strict");
    s.action = SeccompAction::kill;
    auto program = compile_seccomp_bpf(resolve_seccomp(s));
    int status = run_filtered(program, [] { return syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0) == 0 ? 1 : 2; });
    CHECK_MESSAGE(killed_by_sigsys(status), "wait status ", status);
    // clone3 keeps its ENOSYS answer under kill, so libc can fall back to clone.
    status = run_filtered(program, [] { return check_errno(syscall(SYS_clone3, nullptr, 0), ENOSYS, 3); });
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);

    // personality is not in strict: under log it is let through (and logged by the kernel).
    s.action = SeccompAction::log;
    program = compile_seccomp_bpf(resolve_seccomp(s));
    status = run_filtered(program, [] { return syscall(SYS_personality, 0xffffffffUL) != -1 ? 0 : 1; });
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }

  TEST_CASE("strict runs busybox and a dynamic shell, and denies the rest") {
    auto program = compile_seccomp_bpf(resolve_seccomp(seccomp_section("strict")));
    int status = 0;
    // The same commands through busybox's applets and through dash with the host's coreutils.
    const std::array<std::pair<const char*, const char*>, 2> shells = {{
        {"/bin/busybox", "echo hi; busybox ls /; busybox cat /etc/passwd; x=$(echo sub); echo $x | busybox wc -c"},
        {"/bin/sh", "echo hi; ls /; cat /etc/passwd; x=$(echo sub); echo $x | wc -c"},
    }};
    for (const auto& [shell, script] : shells) {
      if (access(shell, X_OK) != 0) {
        MESSAGE(shell, " is not installed; skipped");
        continue;
      }
      std::string out = run_shell(program, shell, script, status);
      CHECK_MESSAGE(WIFEXITED(status), shell, " wait status ", status);
      CHECK_MESSAGE(WEXITSTATUS(status) == 0, shell, " output: ", out);
      CHECK(out.starts_with("hi\n"));
      CHECK(out.find("root:") != std::string::npos);
      CHECK(out.find("etc\n") != std::string::npos);
      CHECK(out.ends_with("4\n"));
    }

    status = run_filtered(program, [] {
      if (int r = check_errno(syscall(SYS_socket, AF_INET, SOCK_STREAM, 0), EPERM, 1)) return r;
      if (int r = check_errno(syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0), EPERM, 2)) return r;
      long rc = syscall(SYS_mount, "none", "/nonexistent-gatebox", "tmpfs", 0, nullptr);
      if (int r = check_errno(rc, EPERM, 3)) return r;
      if (int r = check_errno(syscall(SYS_ioctl, 0, TIOCSTI, "x"), EPERM, 4)) return r;
      return 0;
    });
    REQUIRE(WIFEXITED(status));
    CHECK_MESSAGE(WEXITSTATUS(status) == 0, "failed check code ", WEXITSTATUS(status));
  }
}
