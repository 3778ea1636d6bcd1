// Runs in the cloned child, before and up to execve: system calls only, no allocation,
// no exceptions (docs/ARCHITECTURE.md §4.3). Every failure becomes a SetupRecord on the
// setup pipe.
#include "stack/native/child.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <grp.h>
#include <sys/statvfs.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

#include "util/caps.hpp"
#include "util/fd_passing.hpp"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif


namespace gatebox {
namespace {

constexpr int kSetupFailedExit = 125;

// seccomp.report: the gate installs its filter with a listener, and init (not filtered)
// takes that fd from it with pidfd_getfd and sends it to the parent. The gate waits for
// that by spinning on this shared page, not in a system call: any call it made after the
// filter is in place could be one the policy denies, which would wait for a listener
// nobody holds yet.
struct ListenerHandoff {
  int fd_plus_one;  // set by the gate: its listener's fd + 1
  int taken;        // set by init: the parent has it (the gate may exec now)
};

void send_record(int fd, SetupStage stage, int op_index, int err) {
  SetupRecord r{static_cast<std::int32_t>(stage), op_index, err};
  ssize_t n;
  do n = ::write(fd, &r, sizeof r);
  while (n < 0 && errno == EINTR);
}

[[noreturn]] void fail(int fd, SetupStage stage, int op_index = -1, int err = errno) {
  send_record(fd, stage, op_index, err);
  ::_exit(kSetupFailedExit);
}

struct FdPath {
  char text[32];
  explicit FdPath(int fd) { std::snprintf(text, sizeof text, "/proc/self/fd/%d", fd); }
};

// Opens `rel` below root_fd one component at a time, never following a symlink, so a
// hostile rootfs cannot redirect a mount outside the sandbox. Missing directories (and,
// for a file target, the last component) are created when `create` is set. Returns an
// O_PATH descriptor or -errno (ELOOP: a component is a symlink).
int open_beneath(int root_fd, const char* rel, bool last_is_dir, bool create, mode_t mode) {
  char buf[PATH_MAX];
  std::size_t len = std::strlen(rel);
  if (len >= sizeof buf) return -ENAMETOOLONG;
  std::memcpy(buf, rel, len + 1);
  int dir = ::fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
  if (dir < 0) return -errno;
  char* p = buf;
  while (true) {
    while (*p == '/') ++p;
    if (*p == '\0') return dir;
    char* end = p;
    while (*end != '\0' && *end != '/') ++end;
    const bool last = *end == '\0' || (end[0] == '/' && end[1] == '\0');
    *end = '\0';
    if (std::strcmp(p, "..") == 0 || std::strcmp(p, ".") == 0) {
      ::close(dir);
      return -EINVAL;
    }
    const bool want_dir = !last || last_is_dir;
    int fd = ::openat(dir, p, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
      int made = want_dir ? ::mkdirat(dir, p, last ? mode : 0755)
                          : ::openat(dir, p, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (made < 0 && errno != EEXIST) {
        int e = errno;
        ::close(dir);
        return -e;
      }
      if (!want_dir) ::close(made);
      fd = ::openat(dir, p, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    }
    int e = errno;
    ::close(dir);
    if (fd < 0) return -e;
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      e = errno;
      ::close(fd);
      return -e;
    }
    if (S_ISLNK(st.st_mode) || (want_dir && !S_ISDIR(st.st_mode)) || (!want_dir && S_ISDIR(st.st_mode))) {
      ::close(fd);
      return S_ISLNK(st.st_mode) ? -ELOOP : want_dir ? -ENOTDIR : -EISDIR;
    }
    dir = fd;
    if (last) return dir;
    p = end + 1;
  }
}

// A bind mount in a user namespace keeps the flags the kernel locked on its source
// (nosuid, nodev, noexec, atime); a remount that drops one fails with EPERM.
unsigned long locked_flags(int fd) {
  struct statfs sf;
  if (::fstatfs(fd, &sf) != 0) return 0;
  unsigned long out = 0;
  if (sf.f_flags & ST_NOSUID) out |= MS_NOSUID;
  if (sf.f_flags & ST_NODEV) out |= MS_NODEV;
  if (sf.f_flags & ST_NOEXEC) out |= MS_NOEXEC;
  if (sf.f_flags & ST_NOATIME) out |= MS_NOATIME;
  if (sf.f_flags & ST_NODIRATIME) out |= MS_NODIRATIME;
  if (sf.f_flags & ST_RELATIME) out |= MS_RELATIME;
  if (sf.f_flags & ST_RDONLY) out |= MS_RDONLY;
  return out;
}

// Applies flags (and read-only) to the mount now at op.target.
int remount(int root_fd, const MountOp& op) {
  int fd = open_beneath(root_fd, op.target.c_str(), op.is_dir, false, 0);
  if (fd < 0) return fd;
  unsigned long flags = MS_BIND | MS_REMOUNT | op.flags | locked_flags(fd) | (op.readonly ? MS_RDONLY : 0);
  int rc = ::mount(nullptr, FdPath(fd).text, nullptr, flags, nullptr);
  int e = errno;
  ::close(fd);
  return rc == 0 ? 0 : -e;
}

// A profile mount (op.source_fd set) onto the resolved target `target_fd`. The parent's
// descriptor cannot be bound here: it belongs to the parent's mount namespace, and the
// kernel refuses to clone a mount of another namespace (EINVAL). So the checked real path
// is walked again in this namespace, one component at a time without following symlinks,
// and what it reaches must be the very file the parent checked (same device and inode as
// the inherited descriptor): a source renamed or swapped for a symlink since the check is
// refused (*source_changed), never mounted. The tree is cloned from that descriptor with its
// flags set (clone_mount_flagged) before it is attached.
int bind_checked(const MountOp& op, int target_fd, bool* source_changed) {
  int host_root = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (host_root < 0) return -errno;
  int src = open_beneath(host_root, op.source.c_str(), op.is_dir, false, 0);
  ::close(host_root);
  if (src < 0) return *source_changed = true, src;
  struct stat now, checked;
  if (::fstat(src, &now) != 0 || ::fstat(op.source_fd, &checked) != 0) {
    int e = errno;
    ::close(src);
    return -e;
  }
  if (now.st_dev != checked.st_dev || now.st_ino != checked.st_ino) {
    ::close(src);
    return *source_changed = true, -ESTALE;
  }
  int tree = clone_mount_flagged(src, op.readonly);
  ::close(src);
  if (tree < 0) return tree;
  int rc = ::move_mount(tree, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
  int e = errno;
  ::close(tree);
  return rc == 0 ? 0 : -e;
}

// Root with a user namespace: the scratch tmpfs, made with the new mount API from the plan's
// "key=value,..." options, attached on the run dir through `run_dir_fd` (opened while this
// process was still host root: the run dir's parents may be closed to its ids now), and
// made the working directory. 0 or -errno.
int mount_scratch_through_fd(const SetupPlan& plan, int run_dir_fd) {
  int fs = ::fsopen("tmpfs", FSOPEN_CLOEXEC);
  if (fs < 0) return -errno;
  char options[256];
  if (plan.scratch_data.size() >= sizeof options) {
    ::close(fs);
    return -ENAMETOOLONG;
  }
  std::memcpy(options, plan.scratch_data.c_str(), plan.scratch_data.size() + 1);
  int rc = 0;
  for (char* option = options; rc == 0 && option != nullptr && *option != '\0';) {
    char* comma = std::strchr(option, ',');
    if (comma != nullptr) *comma = '\0';
    char* value = std::strchr(option, '=');
    if (value != nullptr) *value++ = '\0';
    rc = value != nullptr ? ::fsconfig(fs, FSCONFIG_SET_STRING, option, value, 0)
                          : ::fsconfig(fs, FSCONFIG_SET_FLAG, option, nullptr, 0);
    option = comma != nullptr ? comma + 1 : nullptr;
  }
  if (rc == 0) rc = ::fsconfig(fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0);
  int mnt = rc == 0 ? ::fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV) : -1;
  int e = errno;
  ::close(fs);
  if (mnt < 0) return -e;
  rc = ::move_mount(mnt, "", run_dir_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
  if (rc == 0) rc = ::fchdir(mnt);
  e = errno;
  ::close(mnt);
  ::close(run_dir_fd);
  return rc == 0 ? 0 : -e;
}

// Carries out one MountOp. Returns 0, or -errno with *stage telling whether the target
// could not be resolved (a rootfs problem) or a profile mount's source changed since it
// was checked, rather than a mount failed.
int execute_op(int root_fd, const MountOp& op, SetupStage* stage) {
  *stage = SetupStage::op;
  if (op.kind == OpKind::symlink || op.kind == OpKind::file) {
    const char* slash = std::strrchr(op.target.c_str(), '/');
    char parent[PATH_MAX] = "";
    const char* name = op.target.c_str();
    if (slash != nullptr) {
      std::size_t n = static_cast<std::size_t>(slash - op.target.c_str());
      std::memcpy(parent, op.target.c_str(), n);
      parent[n] = '\0';
      name = slash + 1;
    }
    int dir = open_beneath(root_fd, parent, true, true, 0755);
    if (dir < 0) return *stage = SetupStage::op_target, dir;
    if (op.kind == OpKind::symlink) {
      int rc = ::symlinkat(op.source.c_str(), dir, name);
      int e = errno;
      ::close(dir);
      return rc == 0 || e == EEXIST ? 0 : -e;
    }
    // The run's layer gets gatebox's file: what the image has there goes first (a symlink
    // is removed, never written through; a directory there is refused).
    if (::unlinkat(dir, name, 0) != 0 && errno != ENOENT) {
      int e = errno;
      ::close(dir);
      return *stage = SetupStage::op_target, -e;
    }
    int fd = ::openat(dir, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    int e = errno;
    ::close(dir);
    if (fd < 0) return -e;
    std::size_t done = 0;
    while (done < op.data.size()) {
      ssize_t w = ::write(fd, op.data.data() + done, op.data.size() - done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        e = w < 0 ? errno : EIO;
        ::close(fd);
        return -e;
      }
      done += static_cast<std::size_t>(w);
    }
    int rc = ::fchmod(fd, 0644);
    e = errno;
    ::close(fd);
    return rc == 0 ? 0 : -e;
  }
  // A hardening step's target is the kernel's (/proc), not the rootfs's: never created,
  // and a failure to resolve it is gatebox's set-up error, not an unsafe rootfs.
  const bool create = op.kind != OpKind::rebind && !op.hardening;
  int fd = open_beneath(root_fd, op.target.c_str(), op.is_dir, create, op.mode);
  if (fd < 0) {
    if (op_failure_skipped(op, -fd)) return 0;
    if (!op.hardening) *stage = SetupStage::op_target;
    return fd;
  }
  if (op.kind == OpKind::bind && op.detached_fd >= 0) {
    // Made by the parent from the checked descriptor, flags already set on every mount.
    int rc = ::move_mount(op.detached_fd, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
    int e = errno;
    ::close(fd);
    ::close(op.detached_fd);
    return rc == 0 ? 0 : -e;
  }
  if (op.kind == OpKind::bind && op.source_fd >= 0) {
    bool source_changed = false;
    int rc = bind_checked(op, fd, &source_changed);
    ::close(fd);
    if (source_changed) *stage = SetupStage::op_source;
    return rc;
  }
  FdPath path(fd);
  int rc = 0;
  switch (op.kind) {
    case OpKind::mkdir: rc = 0; break;
    case OpKind::tmpfs: rc = ::mount("tmpfs", path.text, "tmpfs", op.flags, op.data.c_str()); break;
    case OpKind::proc: rc = ::mount("proc", path.text, "proc", op.flags, nullptr); break;
    case OpKind::devpts: rc = ::mount("devpts", path.text, "devpts", op.flags, op.data.c_str()); break;
    case OpKind::bind: rc = ::mount(op.source.c_str(), path.text, nullptr, MS_BIND | MS_REC, nullptr); break;
    case OpKind::rebind: rc = ::mount(path.text, path.text, nullptr, MS_BIND | MS_REC, nullptr); break;
    case OpKind::symlink:
    case OpKind::file: break;
  }
  int e = errno;
  ::close(fd);
  if (rc != 0) return op_failure_skipped(op, e) ? 0 : -e;
  if ((op.kind == OpKind::bind || op.kind == OpKind::rebind) && (op.readonly || op.flags != 0)) {
    return remount(root_fd, op);
  }
  return 0;
}

int loopback_up() {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -errno;
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  int rc = ::ioctl(s, SIOCGIFFLAGS, &ifr);
  if (rc == 0) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    rc = ::ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  int e = errno;
  ::close(s);
  return rc == 0 ? 0 : -e;
}

void drop_bounding_set(const SetupPlan& plan, int setup_fd) {
  if (!gatebox::drop_bounding_set(plan.cap_last_cap)) fail(setup_fd, SetupStage::credentials);
}

// run.user's identity, no supplementary groups (none to drop unprivileged, where setgroups
// is denied), no capabilities; false (errno set) on failure.
bool become_gate_user(const SetupPlan& plan) {
  if (!plan.unprivileged && ::setgroups(0, nullptr) != 0) return false;
  if (::setresgid(plan.gid, plan.gid, plan.gid) != 0) return false;
  if (::setresuid(plan.uid, plan.uid, plan.uid) != 0) return false;
  return drop_capabilities();
}

void set_limit(int resource, std::uint64_t value, int setup_fd) {
  struct rlimit current;
  if (::getrlimit(resource, &current) != 0) fail(setup_fd, SetupStage::rlimits);
  // Only ever lower: root here lacks CAP_SYS_RESOURCE, and a gate never needs more.
  rlim_t v = value < current.rlim_max ? static_cast<rlim_t>(value) : current.rlim_max;
  struct rlimit next{v, v};
  if (::setrlimit(resource, &next) != 0) fail(setup_fd, SetupStage::rlimits);
}

void close_other_fds(const SetupPlan& plan) {
  if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  for (int fd = 3; fd < static_cast<int>(plan.nofile) + 64; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

// init's side of the hand-off: waits until the gate has its listener (or died first), then
// passes a copy to the parent. Returns false when the gate exited before; its wait status
// is then in *gate_status. On a failure the gate is killed before it can exec: it must
// never run with a filter whose denied calls nobody answers.
bool hand_over_listener(ListenerHandoff* handoff, pid_t gate, const ChildChannels& ch, int* gate_status) {
  int fd_plus_one = 0;
  while ((fd_plus_one = __atomic_load_n(&handoff->fd_plus_one, __ATOMIC_ACQUIRE)) == 0) {
    int status = 0;
    if (::waitpid(gate, &status, WNOHANG) == gate) {
      *gate_status = status;
      return false;
    }
    struct timespec nap{0, 20'000};
    ::nanosleep(&nap, nullptr);
  }
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, gate, 0));
  int fd = pidfd < 0 ? -1 : static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, fd_plus_one - 1, 0));
  int err = errno;
  if (fd >= 0 && send_fd(ch.notify_write, fd) != 0) err = errno, ::close(fd), fd = -1;
  if (pidfd >= 0) ::close(pidfd);
  if (fd < 0) {
    ::kill(gate, SIGKILL);
    ::waitpid(gate, nullptr, 0);
    fail(ch.setup_write, SetupStage::listener, -1, err);
  }
  ::close(fd);
  __atomic_store_n(&handoff->taken, 1, __ATOMIC_RELEASE);
  return true;
}

// The gate's own process: identity, limits, filter, exec. Never returns.
[[noreturn]] void exec_gate(const SetupPlan& plan, const ChildChannels& ch, int devnull, ListenerHandoff* handoff) {
  const int setup_fd = ch.setup_write;
  if (::dup2(devnull, 0) < 0 || ::dup2(ch.stdout_write, 1) < 0 || ::dup2(ch.stderr_write, 2) < 0) {
    fail(setup_fd, SetupStage::fork_gate);
  }
  if (::setsid() < 0) fail(setup_fd, SetupStage::fork_gate);
  ::umask(022);

  drop_bounding_set(plan, setup_fd);
  if (!become_gate_user(plan)) fail(setup_fd, SetupStage::credentials);

  set_limit(RLIMIT_NOFILE, plan.nofile, setup_fd);
  set_limit(RLIMIT_CORE, 0, setup_fd);
  if (plan.nproc != 0) set_limit(RLIMIT_NPROC, plan.nproc, setup_fd);
  if (plan.address_space != 0) set_limit(RLIMIT_AS, plan.address_space, setup_fd);

  if (::chdir(plan.cwd.c_str()) != 0) fail(setup_fd, SetupStage::cwd);
  close_other_fds(plan);
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(setup_fd, SetupStage::seccomp);
  if (!plan.seccomp.empty()) {
    struct sock_fprog prog;
    prog.len = static_cast<unsigned short>(plan.seccomp.size());
    prog.filter = const_cast<sock_filter*>(plan.seccomp.data());
    if (handoff == nullptr) {
      if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) fail(setup_fd, SetupStage::seccomp);
    } else {
      // init takes the listener with pidfd_getfd, which needs ptrace access. Without a user
      // namespace, init has CAP_SYS_PTRACE; in one, its capabilities do not reach the gate's
      // memory (which belongs to the host's namespace), only its uid does, and the gate
      // inherited init's "not dumpable", which would refuse it. Making the gate dumpable
      // exposes it only to processes of the same host uid, and only until execve, which
      // makes it dumpable anyway.
      if (plan.user_namespace && ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0) fail(setup_fd, SetupStage::seccomp);
      long listener = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
      if (listener < 0) fail(setup_fd, SetupStage::seccomp);
      __atomic_store_n(&handoff->fd_plus_one, static_cast<int>(listener) + 1, __ATOMIC_RELEASE);
      while (__atomic_load_n(&handoff->taken, __ATOMIC_ACQUIRE) == 0) __builtin_ia32_pause();
    }
  }

  int err = ENOENT;
  for (const std::string& candidate : plan.exec_candidates) {
    ::execve(candidate.c_str(), plan.argv.data(), plan.envp.data());
    if (errno != ENOENT && errno != ENOTDIR) err = errno;
  }
  send_record(setup_fd, SetupStage::exec, -1, err);
  ::_exit(err == ENOENT ? 127 : 126);
}

// Sends the gate's wait status and the verdict file to the parent.
void send_status(const SetupPlan& plan, int status_fd, int wait_status) {
  static char buf[kVerdictMax + 1];
  StatusRecord rec{wait_status, kVerdictMissing};
  if (!plan.verdict_file.empty()) rec.verdict_len = read_verdict_as_gate(plan, buf, sizeof buf);
  ssize_t n;
  do n = ::write(status_fd, &rec, sizeof rec);
  while (n < 0 && errno == EINTR);
  const char* p = buf;
  ssize_t left = rec.verdict_len > 0 ? rec.verdict_len : 0;
  while (left > 0) {
    n = ::write(status_fd, p, static_cast<std::size_t>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    p += n;
    left -= n;
  }
}

}  // namespace

bool op_failure_skipped(const MountOp& op, int err) { return op.hardening && err == ENOENT; }

// The path is walked without following symlinks, and read with nothing but the gate's own
// credentials: init has them to spare (root's groups, capabilities in its namespace), and
// without this a gate could have it read a file the gate itself may not (a root-only file
// in the image). init needs no privilege once the gate has exited, so it gives them up for
// good here, rather than in a child that a fork bomb's full pids limit could refuse.
std::int32_t read_verdict_as_gate(const SetupPlan& plan, char* buf, std::size_t size) {
  if (!become_gate_user(plan)) return kVerdictUnsafe;
  int root = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  int pfd = root < 0 ? -1 : open_beneath(root, plan.verdict_file.c_str(), false, false, 0);
  if (root >= 0) ::close(root);
  if (pfd < 0) return pfd == -ENOENT ? kVerdictMissing : kVerdictUnsafe;
  struct stat st;
  int fd = ::open(FdPath(pfd).text, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  ::close(pfd);
  if (fd < 0) return kVerdictUnsafe;
  std::int32_t out = kVerdictUnsafe;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    std::size_t len = 0;
    ssize_t n;
    while (len < size && (n = ::read(fd, buf + len, size - len)) > 0) len += static_cast<std::size_t>(n);
    if (len <= kVerdictMax) out = static_cast<std::int32_t>(len);
  }
  ::close(fd);
  return out;
}

const char* stage_name(SetupStage stage) {
  switch (stage) {
    case SetupStage::sync: return "waiting for the parent";
    case SetupStage::namespaces: return "namespaces";
    case SetupStage::scratch: return "mount the scratch tmpfs";
    case SetupStage::overlay: return "mount the root overlay";
    case SetupStage::op: return "mount";
    case SetupStage::op_target: return "resolve mount target";
    case SetupStage::hostname: return "sethostname";
    case SetupStage::network: return "bring up loopback";
    case SetupStage::pivot: return "pivot_root";
    case SetupStage::cwd: return "chdir to run.cwd";
    case SetupStage::fork_gate: return "start the gate process";
    case SetupStage::credentials: return "set uid/gid and drop capabilities";
    case SetupStage::rlimits: return "set rlimits";
    case SetupStage::seccomp: return "install the seccomp filter";
    case SetupStage::exec: return "execve";
    case SetupStage::listener: return "hand the seccomp listener to gatebox";
    case SetupStage::op_source: return "reopen the source of";
  }
  return "setup";
}

void run_sandbox_init(const SetupPlan& plan, const ChildChannels& ch, pid_t parent) noexcept {
  const int setup_fd = ch.setup_write;
  // If gatebox dies (even by SIGKILL), init dies, and with it every process of the sandbox.
  // (getppid() is 0 in a new PID namespace; a parent that died before this line is seen
  // below as EOF on the sync pipe.)
  (void)parent;
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) ::_exit(kSetupFailedExit);
  // Before anything of the sandbox exists: /proc/1/cmdline must not show the operator's
  // command line (profile path, --set values). Only its length remains visible.
  overwrite_command_line(plan.own_command_line, "gatebox-sandbox-init");
  char go = 0;
  if (::read(ch.sync_read, &go, 1) != 1) fail(setup_fd, SetupStage::sync, -1, EPIPE);
  ::close(ch.sync_read);
  // Root with a user namespace: this process is still host uid 0, which its namespace does
  // not map (files it made would have no owner there). Its own root, the range's first id,
  // it becomes now that the parent has written the map; it keeps its capabilities there.
  int run_dir_fd = -1;
  if (plan.id_base != 0) {
    run_dir_fd = ::open(plan.run_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (run_dir_fd < 0) fail(setup_fd, SetupStage::scratch);
    if (::setresgid(0, 0, 0) != 0 || ::setresuid(0, 0, 0) != 0) fail(setup_fd, SetupStage::namespaces);
  }
  // Now inside its cgroup: a cgroup namespace rooted there hides the host's hierarchy.
  if (::unshare(CLONE_NEWCGROUP) != 0) fail(setup_fd, SetupStage::namespaces);
  // Nothing mounted from here on may propagate back to the host.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) fail(setup_fd, SetupStage::namespaces);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  ::umask(0);

  if (run_dir_fd >= 0) {
    // Root with a user namespace: the scratch tmpfs becomes the working directory, and the
    // plan's directories are relative to it.
    int rc = mount_scratch_through_fd(plan, run_dir_fd);
    if (rc != 0) fail(setup_fd, SetupStage::scratch, -1, -rc);
  } else if (::mount("tmpfs", plan.run_dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, plan.scratch_data.c_str()) != 0) {
    fail(setup_fd, SetupStage::scratch);
  }
  for (const std::string* dir : {&plan.upper_dir, &plan.work_dir, &plan.root_dir}) {
    if (::mkdir(dir->c_str(), 0755) != 0) fail(setup_fd, SetupStage::scratch);
  }
  // Root with a user namespace: the idmapped tree the parent made, attached in this mount
  // namespace (a detached mount may be moved into it by whoever may mount here).
  if (plan.lower_fd >= 0) {
    if (::mkdir(plan.lower_dir.c_str(), 0755) != 0 ||
        ::move_mount(plan.lower_fd, "", AT_FDCWD, plan.lower_dir.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0) {
      fail(setup_fd, SetupStage::overlay);
    }
    ::close(plan.lower_fd);
  }
  if (::mount("overlay", plan.root_dir.c_str(), "overlay", MS_NOSUID | MS_NODEV, plan.overlay_data.c_str()) != 0) {
    fail(setup_fd, SetupStage::overlay);
  }
  int root_fd = ::open(plan.root_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) fail(setup_fd, SetupStage::overlay);
  for (std::size_t i = 0; i < plan.ops.size(); ++i) {
    SetupStage stage = SetupStage::op;
    int rc = execute_op(root_fd, plan.ops[i], &stage);
    if (rc != 0) fail(setup_fd, stage, static_cast<int>(i), -rc);
  }
  if (::sethostname(plan.hostname.data(), plan.hostname.size()) != 0) fail(setup_fd, SetupStage::hostname);
  if (plan.loopback) {
    int rc = loopback_up();
    if (rc != 0) fail(setup_fd, SetupStage::network, -1, -rc);
  }
  // pivot_root(".", ".") stacks the old root under the new one; detaching it leaves
  // nothing of the host's mount tree reachable.
  if (::fchdir(root_fd) != 0 || ::syscall(SYS_pivot_root, ".", ".") != 0 || ::umount2(".", MNT_DETACH) != 0 ||
      ::chdir("/") != 0) {
    fail(setup_fd, SetupStage::pivot);
  }
  ::close(root_fd);
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) fail(setup_fd, SetupStage::fork_gate);

  ListenerHandoff* handoff = nullptr;
  if (plan.seccomp_notify && !plan.seccomp.empty()) {
    void* page = ::mmap(nullptr, sizeof(ListenerHandoff), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) fail(setup_fd, SetupStage::listener);
    handoff = static_cast<ListenerHandoff*>(page);  // zero-filled by the kernel
  }

  pid_t gate = ::fork();
  if (gate < 0) fail(setup_fd, SetupStage::fork_gate);
  if (gate == 0) exec_gate(plan, ch, devnull, handoff);
  int gate_status = 0;
  bool gate_reaped = handoff != nullptr && !hand_over_listener(handoff, gate, ch, &gate_status);
  if (ch.notify_write >= 0) ::close(ch.notify_write);

  // init keeps nothing the gate could use: no copy of its output pipes, no host terminal.
  ::close(ch.stdout_write);
  ::close(ch.stderr_write);
  ::close(setup_fd);
  ::dup2(devnull, 0);
  ::dup2(devnull, 1);
  ::dup2(devnull, 2);
  while (!gate_reaped) {
    int status = 0;
    pid_t w = ::waitpid(-1, &status, 0);
    if (w == gate) {
      gate_status = status;
      break;
    }
    if (w < 0 && errno != EINTR) break;
  }
  send_status(plan, ch.status_write, gate_status);
  // init's exit kills every process left in the PID namespace (daemonised descendants too).
  ::_exit(0);
}

int clone_mount_flagged(int source_fd, bool readonly) {
  int tree = ::open_tree(source_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
  if (tree < 0) return -errno;
  struct mount_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (readonly ? MOUNT_ATTR_RDONLY : 0);
  if (::mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0) {
    int e = errno;
    ::close(tree);
    return -e;
  }
  return tree;
}

}  // namespace gatebox
