// The base allowlists, as data. `default` mirrors what Docker's default seccomp profile
// permits an unprivileged container (no added capabilities) on x86_64; `strict` is ours.
//
// Docker's list also names calls that exist only on other architectures (chown32, mmap2,
// _llseek...) or that are newer than the libseccomp we build against. They stay here so the
// list can be compared with Docker's file entry for entry; compile_seccomp_bpf skips the
// ones x86_64 does not have, which cannot be called there anyway.
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <termios.h>

#include <array>
#include <string_view>

#include "policy/seccomp.hpp"

namespace gatebox {
namespace {

using Op = ArgCond::Op;

// Flags that create namespaces. Without CAP_SYS_ADMIN Docker allows clone only when none
// of them is set, and unshare/setns not at all, so a gate cannot make its own namespaces.
constexpr std::uint64_t namespace_flags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
                                          CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;

constexpr int enosys = 38;  // clone3 gets ENOSYS so that libc falls back to clone, whose flags we can see

// Allowed without conditions on x86_64 by Docker's default profile, for every container.
constexpr std::array docker_unconditional = {
    "_llseek", "_newselect", "accept", "accept4", "access", "adjtimex", "alarm", "arch_prctl",
    "bind", "brk", "cachestat", "capget", "capset", "chdir", "chmod", "chown", "chown32",
    "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64", "clock_gettime",
    "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range",
    "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1",
    "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old",
    "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2",
    "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat",
    "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr",
    "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64",
    "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex", "futex_requeue",
    "futex_time64", "futex_wait", "futex_waitv", "futex_wake", "futimesat", "get_robust_list",
    "get_thread_area", "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32",
    "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer",
    "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom",
    "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit", "getrusage", "getsid",
    "getsockname", "getsockopt", "gettid", "gettimeofday", "getuid", "getuid32", "getxattr",
    "getxattrat", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch",
    "io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64",
    "io_setup", "io_submit", "ioctl", "ioprio_get", "ioprio_set", "ipc", "kill",
    "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown",
    "lchown32", "lgetxattr", "link", "linkat", "listen", "listmount", "listxattr", "listxattrat",
    "llistxattr", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise",
    "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir",
    "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "modify_ldt",
    "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
    "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap",
    "mseal", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap",
    "name_to_handle_at", "nanosleep", "newfstatat", "open", "openat", "openat2", "pause",
    "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free",
    "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2",
    "prlimit64", "process_mrelease", "process_vm_readv", "process_vm_writev", "pselect6",
    "pselect6_time64", "ptrace", "pwrite64", "pwritev", "pwritev2", "read", "readahead",
    "readlink", "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64",
    "recvmsg", "remap_file_pages", "removexattr", "removexattrat", "rename", "renameat",
    "renameat2", "restart_syscall", "riscv_hwprobe", "rmdir", "rseq", "rt_sigaction",
    "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
    "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_get_priority_max",
    "sched_get_priority_min", "sched_getaffinity", "sched_getattr", "sched_getparam",
    "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
    "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield",
    "seccomp", "select", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send",
    "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "set_robust_list",
    "set_thread_area", "set_tid_address", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32",
    "setgid", "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority",
    "setregid", "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid",
    "setreuid32", "setrlimit", "setsid", "setsockopt", "setuid", "setuid32", "setxattr",
    "setxattrat", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd",
    "signalfd4", "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice", "stat",
    "stat64", "statfs", "statfs64", "statmount", "statx", "symlink", "symlinkat", "sync",
    "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create",
    "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
    "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
    "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate", "truncate64",
    "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "uretprobe", "utime", "utimensat",
    "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write",
    "writev",
};

// personality() values Docker lets through: PER_LINUX, PER_LINUX32, UNAME26, UNAME26 |
// PER_LINUX32, and 0xffffffff, which only queries the current persona.
constexpr std::array<std::uint64_t, 5> docker_personalities = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

// Docker lets every socket family through except AF_ALG (38) and AF_VSOCK (40); it writes
// that as three alternatives, the last "family > 40" on the whole 64-bit register. The
// kernel reads the family as an int: 0x1_0000_0028 passes "> 40" and is AF_VSOCK. So the
// families above AF_VSOCK are named one by one (up to AF_MCTP, 45, the last in Linux 6.x):
// each comparison is then exact, and no value with high bits set matches any of them.
constexpr int af_alg = 38;
constexpr int af_nfc = 39;
constexpr int af_vsock = 40;
constexpr int af_last = 45;

std::vector<SyscallRule> make_default() {
  std::vector<SyscallRule> rules;
  for (std::string_view name : docker_unconditional) rules.push_back({std::string(name), {}, 0});
  rules.push_back({"socket", {{0, af_alg, 0, Op::lt}}, 0});
  rules.push_back({"socket", {{0, af_nfc, 0, Op::eq}}, 0});
  for (int family = af_vsock + 1; family <= af_last; ++family) {
    rules.push_back({"socket", {{0, static_cast<std::uint64_t>(family), 0, Op::eq}}, 0});
  }
  for (std::uint64_t persona : docker_personalities) rules.push_back({"personality", {{0, persona, 0, Op::eq}}, 0});
  rules.push_back({"clone", {{0, namespace_flags, 0, Op::masked_eq}}, 0});
  rules.push_back({"clone3", {}, enosys});
  return rules;
}

// What a static binary or busybox running ordinary commands needs, and little else: files,
// memory, processes without namespaces, signals, time, pipes and AF_UNIX sockets (libc's NSS
// talks to nscd over one). Left out on purpose: ptrace, mount, bpf, keyctl, perf, io_uring,
// userfaultfd, the set*id family, network sockets, and everything that needs a capability.
constexpr std::array strict_unconditional = {
    // files and descriptors
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2",
    "lseek", "open", "openat", "openat2", "creat", "close", "close_range", "dup", "dup2", "dup3", "pipe",
    "pipe2", "fcntl", "flock", "fsync", "fdatasync", "ftruncate", "truncate", "fallocate", "fadvise64",
    "sendfile", "splice", "tee", "copy_file_range", "poll", "ppoll", "select", "pselect6", "epoll_create",
    "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "eventfd", "eventfd2",
    // metadata and directories
    "stat", "fstat", "lstat", "newfstatat", "statx", "statfs", "fstatfs", "access", "faccessat",
    "faccessat2", "readlink", "readlinkat", "getdents", "getdents64", "getcwd", "chdir", "fchdir", "mkdir",
    "mkdirat", "rmdir", "unlink", "unlinkat", "rename", "renameat", "renameat2", "link", "linkat",
    "symlink", "symlinkat", "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown",
    "fchownat", "umask", "utime", "utimes", "utimensat", "futimesat", "getxattr", "lgetxattr",
    "fgetxattr", "listxattr", "llistxattr", "flistxattr",
    // memory
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "msync", "mincore",
    // processes and threads (clone is below, with a condition)
    "execve", "execveat", "exit", "exit_group", "fork", "vfork", "wait4", "waitid", "kill", "tgkill",
    "tkill", "getpid", "getppid", "gettid", "getpgrp", "getpgid", "setpgid", "getsid", "setsid", "getuid",
    "geteuid", "getgid", "getegid", "getgroups", "getresuid", "getresgid", "getrlimit", "setrlimit",
    "prlimit64", "getrusage", "times", "sysinfo", "uname", "getpriority", "sched_yield",
    "sched_getaffinity", "futex", "set_robust_list", "get_robust_list", "set_tid_address", "rseq",
    "arch_prctl", "restart_syscall", "getrandom",
    // signals and time
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigsuspend", "rt_sigpending", "rt_sigtimedwait",
    "sigaltstack", "pause", "alarm", "setitimer", "getitimer", "clock_gettime", "clock_getres",
    "clock_nanosleep", "nanosleep", "gettimeofday", "time",
    // AF_UNIX sockets (socket and socketpair are below, with a condition)
    "connect", "sendto", "recvfrom", "sendmsg", "recvmsg", "shutdown", "getsockname", "getpeername",
    "getsockopt", "setsockopt",
};

// Terminal and descriptor ioctls that shells and ls use; no TIOCSTI (typing into a terminal),
// nothing that reaches a device driver.
constexpr std::array<std::uint64_t, 13> strict_ioctls = {
    TCGETS, TCSETS, TCSETSW, TCSETSF, TIOCGWINSZ, TIOCSWINSZ, TIOCGPGRP, TIOCSPGRP,
    FIONREAD, FIONBIO, FIOCLEX, FIONCLEX, FIOASYNC,
};

// prctl options a libc or busybox asks for; the rest (PR_SET_MM, PR_SET_PTRACER, ...) stay denied.
constexpr std::array<std::uint64_t, 9> strict_prctls = {
    PR_SET_PDEATHSIG, PR_GET_PDEATHSIG, PR_GET_DUMPABLE, PR_SET_NAME, PR_GET_NAME,
    PR_GET_SECCOMP, PR_CAPBSET_READ, PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS,
};

std::vector<SyscallRule> make_strict() {
  std::vector<SyscallRule> rules;
  for (std::string_view name : strict_unconditional) rules.push_back({std::string(name), {}, 0});
  for (std::uint64_t request : strict_ioctls) rules.push_back({"ioctl", {{1, request, 0, Op::eq}}, 0});
  for (std::uint64_t option : strict_prctls) rules.push_back({"prctl", {{0, option, 0, Op::eq}}, 0});
  rules.push_back({"socket", {{0, AF_UNIX, 0, Op::eq}}, 0});
  rules.push_back({"socketpair", {{0, AF_UNIX, 0, Op::eq}}, 0});
  rules.push_back({"clone", {{0, namespace_flags, 0, Op::masked_eq}}, 0});
  rules.push_back({"clone3", {}, enosys});
  return rules;
}

}  // namespace

const std::vector<SyscallRule>& default_allowlist() {
  static const std::vector<SyscallRule> rules = make_default();
  return rules;
}

const std::vector<SyscallRule>& strict_allowlist() {
  static const std::vector<SyscallRule> rules = make_strict();
  return rules;
}

}  // namespace gatebox
