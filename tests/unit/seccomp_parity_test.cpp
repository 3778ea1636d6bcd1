// One seccomp policy, the same answers on every stack (issue 15, point 2). A table of real
// call patterns (threads, fork, vfork and posix_spawn from glibc, Go, the JVM, Node and
// Python; namespaces; socket families; personality; ioctl and prctl where strict filters
// them) is answered by the native BPF filter, the reference, and by every other form the
// policy is given to a stack in: the native stack's cached program and its seccomp.report
// variant, the program in the qemu/firecracker guest agent's job, Docker's JSON as the
// docker stack sends it (read as runc reads it) and the gvisor bundle's linux.seccomp (read
// as runsc reads it). Where a stack answers differently on purpose, the difference is in
// `known_differences` with its reason; any other difference fails.
//
// Not here: the kubernetes stack, which gets no rendering from gatebox. Its pods run under
// the cluster's RuntimeDefault or a Localhost profile the operator installed on the nodes.
#include <errno.h>
#include <linux/fs.h>
#include <linux/keyctl.h>
#include <linux/netlink.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "policy/seccomp.hpp"
#include "seccomp_eval.hpp"
#include "stack/docker/container_spec.hpp"
#include "stack/gvisor/oci_bundle.hpp"
#include "stack/vm/job.hpp"
#include "util/fs.hpp"

using namespace gatebox;
using namespace gatebox::test;
using nlohmann::json;

namespace {

// What the policy says about a pattern: let it through, deny it with the profile's action,
// or answer ENOSYS by a rule of its own (clone3, so that libc falls back to clone).
enum class Expect { allow, deny, enosys };

struct Pattern {
  std::string_view call;    // what is called, as strace would show it
  std::string_view source;  // who makes this call, and why
  std::string_view name;    // the x86_64 system call
  std::array<std::uint64_t, 6> args;
  Expect in_default;
  Expect in_strict;
};

// Any user-space address: the filter sees the pointer, never what it points to.
constexpr std::uint64_t ptr = 0x7ffd4e3c1a80;
constexpr std::uint64_t thread_stack = 0x7f3a2bfff000;
// Arguments the kernel reads as int arrive sign-extended in the 64-bit register.
constexpr std::uint64_t reg(std::int64_t value) { return static_cast<std::uint64_t>(value); }

// glibc's pthread_create (nptl create_thread); the same for every runtime built on it.
constexpr std::uint64_t pthread_flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                                        CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
// Go's runtime.newosproc: no TLS or tid words, the runtime keeps its own.
constexpr std::uint64_t go_thread_flags =
    CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_SYSVSEM | CLONE_THREAD;
constexpr std::uint64_t fork_flags = CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD;
constexpr std::uint64_t spawn_flags = CLONE_VM | CLONE_VFORK | SIGCHLD;
// sizeof(struct clone_args) as glibc passes it to clone3 (CLONE_ARGS_SIZE_VER2).
constexpr std::uint64_t clone_args_size = 88;
constexpr std::uint64_t rseq_signature = 0x53053053;  // glibc's RSEQ_SIG on x86
constexpr std::uint64_t shadow_stack_set_token = 1;   // SHADOW_STACK_SET_TOKEN

using enum Expect;

const std::vector<Pattern>& patterns() {
  static const std::vector<Pattern> table = {
      // Threads. glibc 2.34+ tries clone3 first and falls back to clone on ENOSYS only.
      {"clone3({flags=CLONE_VM|...|CLONE_CHILD_CLEARTID}, 88)",
       "glibc pthread_create and posix_spawn: HotSpot, Node (libuv's pool), CPython threads", "clone3",
       {ptr, clone_args_size}, enosys, enosys},
      {"clone3({flags=CLONE_NEWUSER|...}, 88)",
       "a gate hiding namespace flags in memory: clone_args is out of the filter's sight, so every clone3 gets ENOSYS",
       "clone3", {ptr + 0x100, clone_args_size}, enosys, enosys},
      {"clone(CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|"
       "CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID)",
       "glibc pthread_create after clone3's ENOSYS: HotSpot, Node, CPython threads", "clone",
       {pthread_flags, thread_stack, ptr, ptr, ptr + 0x40}, allow, allow},
      {"clone(CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_SYSVSEM|CLONE_THREAD)",
       "Go runtime.newosproc: every M of a Go program", "clone", {go_thread_flags, thread_stack, 0, 0, 0, ptr}, allow,
       allow},
      // Processes.
      {"clone(CLONE_CHILD_SETTID|CLONE_CHILD_CLEARTID|SIGCHLD)",
       "glibc fork(): CPython os.fork and multiprocessing, Node's child_process (libuv uv_spawn), shells", "clone",
       {fork_flags, 0, 0, ptr, 0}, allow, allow},
      {"clone(CLONE_VM|CLONE_VFORK|SIGCHLD)",
       "glibc posix_spawn after clone3's ENOSYS: system(), popen(), HotSpot's ProcessBuilder (jspawnhelper)",
       "clone", {spawn_flags, thread_stack, 0, 0, 0}, allow, allow},
      {"clone(CLONE_VM|CLONE_VFORK|CLONE_PIDFD|SIGCHLD)", "Go 1.23+ os/exec (forkAndExecInChild, with a pidfd)",
       "clone", {spawn_flags | CLONE_PIDFD, 0, ptr}, allow, allow},
      {"vfork()", "CPython 3.10+ subprocess (_posixsubprocess), the JDK's VFORK launch mechanism", "vfork", {}, allow,
       allow},
      {"pidfd_open(getpid(), 0)", "Go 1.23+ os: the probe for pidfd support (it falls back without)", "pidfd_open",
       {4242, 0}, allow, deny},
      // Namespaces stay out of reach: clone only without their flags, unshare and setns never.
      {"clone(CLONE_NEWUSER|SIGCHLD)", "Chromium's and Firefox's sandboxes, podman rootless", "clone",
       {CLONE_NEWUSER | SIGCHLD}, deny, deny},
      {"clone(CLONE_NEWNS|SIGCHLD)", "a private mount table", "clone", {CLONE_NEWNS | SIGCHLD}, deny, deny},
      {"clone(CLONE_NEWNET|SIGCHLD)", "a private network stack", "clone", {CLONE_NEWNET | SIGCHLD}, deny, deny},
      {"clone(CLONE_NEWNS|CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWIPC|CLONE_NEWUTS|CLONE_NEWCGROUP|SIGCHLD)",
       "bubblewrap", "clone",
       {CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP | SIGCHLD}, deny,
       deny},
      {"unshare(CLONE_NEWUSER)", "unshare -U, CPython 3.12 os.unshare", "unshare", {CLONE_NEWUSER}, deny, deny},
      {"unshare(CLONE_NEWNET)", "unshare -n", "unshare", {CLONE_NEWNET}, deny, deny},
      {"setns(fd, CLONE_NEWNET)", "ip netns exec, CPython 3.12 os.setns", "setns", {3, CLONE_NEWNET}, deny, deny},
      // Socket families: default lets through all but AF_ALG and AF_VSOCK, strict AF_UNIX only.
      {"socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0)", "glibc NSS to nscd, CPython multiprocessing, libuv pipes",
       "socket", {AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0}, allow, allow},
      {"socketpair(AF_UNIX, SOCK_STREAM, 0, fds)", "Node child stdio (uv_socketpair), CPython socket.socketpair",
       "socketpair", {AF_UNIX, SOCK_STREAM, 0, ptr}, allow, allow},
      {"socket(AF_INET, SOCK_STREAM, IPPROTO_TCP)", "any network client", "socket", {AF_INET, SOCK_STREAM, 6}, allow,
       deny},
      {"socket(AF_INET6, SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC, IPPROTO_TCP)", "Go net: the probe for IPv6",
       "socket", {AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 6}, allow, deny},
      {"socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_ROUTE)", "glibc getifaddrs and getaddrinfo(AI_ADDRCONFIG)",
       "socket", {AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE}, allow, deny},
      {"socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL))", "tcpdump, scapy (the kernel then wants CAP_NET_RAW)", "socket",
       {AF_PACKET, SOCK_RAW, 0x300}, allow, deny},
      {"socket(AF_ALG, SOCK_SEQPACKET, 0)", "the kernel crypto API: cryptsetup, libkcapi", "socket",
       {AF_ALG, SOCK_SEQPACKET, 0}, deny, deny},
      {"socket(AF_NFC, SOCK_SEQPACKET, 0)", "neard; Docker's profile names this family as an alternative", "socket",
       {AF_NFC, SOCK_SEQPACKET, 0}, allow, deny},
      {"socket(AF_VSOCK, SOCK_STREAM, 0)", "VM guest agents talking to their host", "socket",
       {AF_VSOCK, SOCK_STREAM, 0}, deny, deny},
      {"socket(AF_XDP, SOCK_RAW, 0)", "libxdp: a family above AF_VSOCK, allowed like every one Docker does not name",
       "socket", {AF_XDP, SOCK_RAW, 0}, allow, deny},
      {"socket(1 << 32 | AF_VSOCK, ...)", "hostile: the kernel reads an int, so this is AF_VSOCK; a 64-bit \"> 40\" passed it",
       "socket", {(1ULL << 32) | AF_VSOCK, SOCK_STREAM, 0}, deny, deny},
      {"socket(1 << 32 | AF_ALG, ...)", "hostile: AF_ALG with high bits set", "socket",
       {(1ULL << 32) | AF_ALG, SOCK_SEQPACKET, 0}, deny, deny},
      {"socket(1 << 32 | AF_INET, ...)", "no real caller: denied, since no exact family matches", "socket",
       {(1ULL << 32) | AF_INET, SOCK_STREAM, 0}, deny, deny},
      // personality: the personas Docker lists, and nothing that changes the address space.
      {"personality(0xffffffff)", "the sanitizer runtimes (compiler-rt) reading the persona", "personality",
       {0xffffffff}, allow, deny},
      {"personality(PER_LINUX)", "setarch x86_64", "personality", {PER_LINUX}, allow, deny},
      {"personality(PER_LINUX32)", "linux32 (util-linux setarch)", "personality", {PER_LINUX32}, allow, deny},
      {"personality(UNAME26)", "setarch --uname-2.6", "personality", {UNAME26}, allow, deny},
      {"personality(PER_LINUX32|UNAME26)", "linux32 --uname-2.6", "personality",
       {std::uint64_t{PER_LINUX32} | UNAME26}, allow, deny},
      {"personality(ADDR_NO_RANDOMIZE)", "setarch -R, gdb's disable-randomization, TSan's re-exec", "personality",
       {ADDR_NO_RANDOMIZE}, deny, deny},
      {"personality(READ_IMPLIES_EXEC)", "setarch -X", "personality", {READ_IMPLIES_EXEC}, deny, deny},
      // ioctl: default allows every request, strict the terminal and descriptor ones.
      {"ioctl(1, TCGETS, &termios)", "glibc isatty, Go's term package, Node's tty", "ioctl", {1, TCGETS, ptr}, allow,
       allow},
      {"ioctl(1, TIOCGWINSZ, &ws)", "CPython os.get_terminal_size, libuv uv_tty_get_winsize", "ioctl",
       {1, TIOCGWINSZ, ptr}, allow, allow},
      {"ioctl(fd, FIONBIO, &on)", "libuv uv__nonblock", "ioctl", {7, FIONBIO, ptr}, allow, allow},
      {"ioctl(fd, FIOCLEX)", "libuv uv__cloexec (older releases)", "ioctl", {7, FIOCLEX}, allow, allow},
      {"ioctl(0, TIOCSTI, &c)", "typing into the controlling terminal: the classic escape", "ioctl",
       {0, TIOCSTI, ptr}, allow, deny},
      {"ioctl(dst, FICLONE, src)", "coreutils 9 cp (--reflink=auto by default)", "ioctl", {4, FICLONE, 3}, allow,
       deny},
      // prctl: default allows every option, strict a libc's few.
      {"prctl(PR_SET_NAME, name)", "pthread_setname_np on the calling thread: HotSpot names its threads", "prctl",
       {PR_SET_NAME, ptr}, allow, allow},
      {"prctl(PR_SET_DUMPABLE, 0)", "OpenSSH, gpg-agent", "prctl", {PR_SET_DUMPABLE, 0}, allow, deny},
      // The rest of Docker's refusals, and what strict leaves out.
      {"keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1)", "krb5's KEYRING credential cache, keyutils",
       "keyctl", {KEYCTL_GET_KEYRING_ID, reg(KEY_SPEC_SESSION_KEYRING), 1}, deny, deny},
      {"add_key(\"user\", desc, data, len, KEY_SPEC_SESSION_KEYRING)", "keyctl padd, krb5", "add_key",
       {ptr, ptr + 8, ptr + 64, 32, reg(KEY_SPEC_SESSION_KEYRING)}, deny, deny},
      {"ptrace(PTRACE_TRACEME)", "strace, gdb (Docker allows ptrace on kernels from 4.8)", "ptrace",
       {PTRACE_TRACEME}, allow, deny},
      {"io_uring_setup(64, &params)", "libuv 1.45+ with io_uring on (Node 20.3+), which falls back to its thread pool",
       "io_uring_setup", {64, ptr}, deny, deny},
      {"mount(\"none\", \"/mnt\", \"tmpfs\", 0, NULL)", "mount (it needs CAP_SYS_ADMIN)", "mount",
       {ptr, ptr + 8, ptr + 16}, deny, deny},
      {"bpf(BPF_PROG_LOAD, &attr, 144)", "bpftrace, systemd", "bpf", {5, ptr, 144}, deny, deny},
      {"perf_event_open(&attr, 0, -1, -1, 0)", "perf, async-profiler for the JVM", "perf_event_open",
       {ptr, 0, reg(-1), reg(-1), 0}, deny, deny},
      {"map_shadow_stack(0, 0x20000, SHADOW_STACK_SET_TOKEN)", "glibc 2.39+ makecontext with CET shadow stacks",
       "map_shadow_stack", {0, 0x20000, shadow_stack_set_token}, allow, deny},
      {"rseq(&rseq_area, 32, 0, RSEQ_SIG)", "glibc 2.35+: every thread registers its rseq area", "rseq",
       {ptr, 32, 0, rseq_signature}, allow, allow},
      {"getrandom(buf, 24, GRND_NONBLOCK)", "CPython's hash seed, Go's crypto/rand", "getrandom",
       {ptr, 24, GRND_NONBLOCK}, allow, allow},
      {"sched_getaffinity(0, 128, mask)",
       "Go's getproccount, HotSpot's active_processor_count, libuv uv_available_parallelism", "sched_getaffinity",
       {0, 128, ptr}, allow, allow},
      {"sched_setaffinity(0, 128, mask)", "CPython os.sched_setaffinity, taskset", "sched_setaffinity",
       {0, 128, ptr}, allow, deny},
  };
  return table;
}

// A [seccomp] section to resolve, and what it changes for the patterns.
struct Variant {
  std::string_view name;
  Profile::Seccomp section;
};

Profile::Seccomp seccomp_section(std::string profile, SeccompAction action, std::vector<std::string> allow_list = {},
                                 std::vector<std::string> deny_list = {}) {
  Profile::Seccomp s;
  s.profile = std::move(profile);
  s.action = action;
  s.allow = std::move(allow_list);
  s.deny = std::move(deny_list);
  return s;
}

std::vector<Variant> variants() {
  return {
      {"default", seccomp_section("default", SeccompAction::errno_eperm)},
      {"strict", seccomp_section("strict", SeccompAction::errno_eperm)},
      {"default, action kill", seccomp_section("default", SeccompAction::kill)},
      {"strict, action log", seccomp_section("strict", SeccompAction::log)},
      // Allowing clone drops its namespace condition; denying socket drops every family.
      {"default with allow and deny",
       seccomp_section("default", SeccompAction::errno_eperm,
                       {"clone", "unshare", "keyctl", "add_key", "io_uring_setup"},
                       {"ptrace", "personality", "vfork", "socket"})},
      {"strict with allow and deny, action kill",
       seccomp_section("strict", SeccompAction::kill, {"socket", "ioctl", "personality", "clone3"}, {"vfork", "rseq"})},
  };
}

Answer denial(SeccompAction action) {
  switch (action) {
    case SeccompAction::errno_eperm: return failed_with(EPERM);
    case SeccompAction::kill: return {Answer::Kind::kill_process};
    case SeccompAction::log: return {Answer::Kind::log};
  }
  return failed_with(EPERM);
}

// The table's answer for a pattern under a variant: deny wins over allow, as in resolve_seccomp.
Answer expected(const Pattern& p, const Profile::Seccomp& s) {
  auto listed = [&](const std::vector<std::string>& names) {
    return std::find(names.begin(), names.end(), p.name) != names.end();
  };
  if (listed(s.deny)) return denial(s.action);
  if (listed(s.allow)) return allowed();
  switch (s.profile == "strict" ? p.in_strict : p.in_default) {
    case Expect::allow: return allowed();
    case Expect::deny: return denial(s.action);
    case Expect::enosys: return failed_with(ENOSYS);
  }
  return denial(s.action);
}

Call call_of(const Pattern& p) {
  auto nr = x86_64_syscall_number(p.name);
  REQUIRE_MESSAGE(nr.has_value(), std::string(p.name));
  return {*nr, p.args};
}

// A difference a stack has on purpose. `native` empty: whatever the native filter answers.
struct KnownDifference {
  std::string_view rendering;
  std::string_view name;  // empty: any call
  std::optional<Answer> native;
  Answer rendered;
  std::string_view why;
};

const std::vector<KnownDifference>& known_differences() {
  static const std::vector<KnownDifference> differences = {
      {"gvisor", "clone3", failed_with(ENOSYS), allowed(),
       "runsc answers every SCMP_ACT_ERRNO rule with EPERM, on which glibc would not fall back to clone; the "
       "bundle lets clone3 through to the Sentry, which has no clone3 and answers ENOSYS itself (e2e "
       "hostile-syscalls checks it)"},
      {"gvisor", "", Answer{Answer::Kind::kill_process}, Answer{Answer::Kind::kill_thread},
       "runsc has no SCMP_ACT_KILL_PROCESS; the bundle writes SCMP_ACT_KILL, which ends the calling task with "
       "SIGSYS, and with it a single-threaded gate"},
      {"gvisor", "", Answer{Answer::Kind::log}, allowed(),
       "runsc has no SCMP_ACT_LOG and would refuse the whole profile; the bundle lets the calls through, unlogged "
       "(the host kernel, whose log that is, never sees a gVisor gate's calls)"},
      {"docker", "map_shadow_stack", std::nullopt, failed_with(ENOSYS),
       "runc answers ENOSYS, so that libc can fall back, for every call numbered above the newest the profile "
       "names; strict names nothing above fchmodat2 (452)"},
  };
  return differences;
}

const KnownDifference* find_difference(std::string_view rendering, const Pattern& p, const Answer& native,
                                       const Answer& rendered) {
  for (const KnownDifference& d : known_differences()) {
    if (d.rendering == rendering && (d.name.empty() || d.name == p.name) && (!d.native || *d.native == native) &&
        d.rendered == rendered) {
      return &d;
    }
  }
  return nullptr;
}

using Answerer = std::function<Answer(const Call&)>;

Answerer bpf_answerer(std::vector<sock_filter> program) {
  return [program = std::move(program)](const Call& call) { return answer_of(run_bpf(program, call)); };
}

Profile gate_profile(const Profile::Seccomp& s) {
  Profile p;
  p.name = "parity";
  p.run.argv = {"/bin/true"};
  p.seccomp = s;
  return p;
}

// The profile Docker is handed: the docker stack's container spec, HostConfig.SecurityOpt.
json docker_profile(const Profile& p, const SeccompPolicy& policy) {
  const std::vector<ResolvedMount> mounts;
  const json spec = render_container_create({p, policy, mounts, "gatebox/rootfs:0123456789abcdef", "1-a", "host"});
  for (const json& opt : spec.at("HostConfig").at("SecurityOpt")) {
    const std::string text = opt.get<std::string>();
    if (text.starts_with("seccomp=")) return json::parse(text.substr(8));
  }
  FAIL("the container spec has no seccomp= option");
  return {};
}

// The program the guest agent installs: the host's (cached) program, through the job file.
std::vector<sock_filter> guest_program(std::vector<sock_filter> host_program) {
  vm::Job job;
  job.argv = {"/bin/true"};
  job.seccomp = std::move(host_program);
  return vm::job_from_json(vm::job_to_json(job)).seccomp;
}

// seccomp.report: the listener answers a notification as the policy's action would
// (stack/native/seccomp_listener.hpp); its kill is a SIGKILL to the whole process.
Answer as_listener_answers(Answer a, SeccompAction action) {
  return a.kind == Answer::Kind::notify ? denial(action) : a;
}

struct Rendering {
  std::string name;
  Answerer answer;
};

// Every form `s` takes on the stacks, each as something that answers calls.
std::vector<Rendering> renderings(const Profile::Seccomp& s, const std::filesystem::path& cache) {
  const SeccompPolicy policy = resolve_seccomp(s);
  SeccompPolicy reported = policy;
  reported.notify = true;
  // The native stack and the VM runner take the program through the cache; the first call
  // fills it, the second reads what was written.
  compile_seccomp_bpf_cached(policy, cache);
  std::vector<sock_filter> cached = compile_seccomp_bpf_cached(policy, cache);
  const Profile p = gate_profile(s);
  const std::vector<ResolvedMount> mounts;
  const json bundle = render_oci_config({p, "/rootfs", policy, mounts, "1-a", ""});
  const json docker = docker_profile(p, policy);
  const json runsc = bundle.at("linux").at("seccomp");
  return {
      {"native", bpf_answerer(cached)},
      {"native with seccomp.report",
       [report = bpf_answerer(compile_seccomp_bpf(reported)), action = s.action](const Call& call) {
         return as_listener_answers(report(call), action);
       }},
      {"guest agent", bpf_answerer(guest_program(cached))},
      {"docker", [docker](const Call& call) { return run_profile(docker, runc_reader(), call); }},
      {"gvisor", [runsc](const Call& call) { return run_profile(runsc, runsc_reader(), call); }},
  };
}

}  // namespace

TEST_SUITE("policy::seccomp_parity") {
  TEST_CASE("the native filter answers every call pattern as the table says") {
    for (const Variant& v : variants()) {
      const Answerer native = bpf_answerer(compile_seccomp_bpf(resolve_seccomp(v.section)));
      for (const Pattern& p : patterns()) {
        CHECK_MESSAGE(native(call_of(p)) == expected(p, v.section), v.name, ": ", p.call, " (", p.source, ")");
      }
    }
  }

  TEST_CASE("every stack's rendering answers every call pattern as the native filter does") {
    TempDir cache(std::filesystem::temp_directory_path(), "gatebox-parity-");
    std::set<const KnownDifference*> seen;
    for (const Variant& v : variants()) {
      const Answerer native = bpf_answerer(compile_seccomp_bpf(resolve_seccomp(v.section)));
      for (const Rendering& r : renderings(v.section, cache.path())) {
        for (const Pattern& p : patterns()) {
          const Call call = call_of(p);
          const Answer want = native(call);
          Answer got;
          try {
            got = r.answer(call);
          } catch (const std::exception& e) {
            FAIL_CHECK(v.name, ", ", r.name, ": ", std::string(e.what()));
            break;
          }
          if (got == want) continue;
          const KnownDifference* known = find_difference(r.name, p, want, got);
          if (known != nullptr) {
            seen.insert(known);
          } else {
            std::ostringstream msg;
            msg << v.name << ", " << r.name << ": " << p.call << " gets " << got << ", natively " << want;
            FAIL_CHECK(msg.str());
          }
        }
      }
    }
    // A difference nothing shows any more is a note that has gone stale.
    for (const KnownDifference& d : known_differences()) {
      CHECK_MESSAGE(seen.contains(&d), "known difference not seen: ", d.rendering, " ", d.name, ": ", d.why);
    }
  }

  TEST_CASE("the BPF interpreter follows the kernel's reading of a program") {
    // if (arch != x86_64) kill; if (nr == 39) allow; if (nr == 41 && args[0] low word == 2)
    // errno 13; else errno 1.
    const std::vector<sock_filter> program = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 39, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 41, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 16),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 2, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 13),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1),
    };
    CHECK(answer_of(run_bpf(program, {39})) == allowed());
    CHECK(answer_of(run_bpf(program, {41, {2}})) == failed_with(13));
    CHECK(answer_of(run_bpf(program, {41, {10}})) == failed_with(1));
    CHECK(answer_of(run_bpf(program, {0})) == failed_with(1));
    const std::vector<sock_filter> runs_off = {BPF_JUMP(BPF_JMP | BPF_JA, 5, 0, 0), BPF_STMT(BPF_RET | BPF_K, 0)};
    CHECK_THROWS_AS(run_bpf(runs_off, {0}), std::logic_error);
  }

  TEST_CASE("the profile interpreter: entries are alternatives, one entry's args all hold") {
    const json profile = json::parse(R"({
      "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "architectures": ["SCMP_ARCH_X86_64"],
      "syscalls": [
        {"names": ["getpid", "chown32"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]},
        {"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_GT"}]},
        {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["mmap"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 2, "value": 4, "op": "SCMP_CMP_NE"},
                                                                 {"index": 3, "value": 34, "op": "SCMP_CMP_EQ"}]},
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}
      ]})");
    auto runc = [&](std::string_view name, std::array<std::uint64_t, 6> args = {}) {
      return run_profile(profile, runc_reader(), {*x86_64_syscall_number(name), args});
    };
    CHECK(runc("getpid") == allowed());
    CHECK(runc("socket", {2}) == allowed());
    CHECK(runc("socket", {44}) == allowed());
    CHECK(runc("socket", {40}) == failed_with(EPERM));
    CHECK(runc("clone", {CLONE_VM | SIGCHLD}) == allowed());
    CHECK(runc("clone", {CLONE_NEWUSER | SIGCHLD}) == failed_with(EPERM));
    CHECK(runc("mmap", {0, 4096, 3, 34}) == allowed());
    CHECK(runc("mmap", {0, 4096, 4, 34}) == failed_with(EPERM));
    CHECK(runc("clone3") == failed_with(ENOSYS));
    // Newer than every call the profile names (clone3, 435): runc's ENOSYS stub.
    CHECK(runc("openat2") == failed_with(ENOSYS));
    CHECK(run_profile(profile, runsc_reader(), {*x86_64_syscall_number("openat2")}) == failed_with(EPERM));
    CHECK(run_profile(profile, runsc_reader(), {*x86_64_syscall_number("clone3")}) == failed_with(EPERM));

    json logged = profile;
    logged["defaultAction"] = "SCMP_ACT_LOG";
    CHECK(run_profile(logged, runc_reader(), {*x86_64_syscall_number("openat2")}) == Answer{Answer::Kind::log});
    CHECK_THROWS_AS(run_profile(logged, runsc_reader(), {0}), std::invalid_argument);
    json same_index = profile;
    same_index["syscalls"][4]["args"][1]["index"] = 2;
    CHECK_THROWS_AS(run_profile(same_index, runc_reader(), {9}), std::invalid_argument);
    json after_blanket = profile;
    after_blanket["syscalls"].push_back({{"names", json::array({"getpid"})}, {"action", "SCMP_ACT_ERRNO"}});
    CHECK_THROWS_AS(run_profile(after_blanket, runsc_reader(), {0}), std::invalid_argument);
    CHECK_THROWS_AS(run_profile(after_blanket, runc_reader(), {39}), std::invalid_argument);
  }
}
