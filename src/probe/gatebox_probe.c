/* gatebox-probe: what a gate can do inside a sandbox (`gatebox probe`,
 * docs/ARCHITECTURE.md §3.5).
 *
 * A static program with no dependencies, run as the gate of a tiny image. It tries each
 * kernel feature for real and prints one JSON object on stdout:
 *   {"ptrace": {"status": "works", "errno": null, "detail": "..."}, ...}
 * status: "works"; "denied" (EPERM/EACCES, a seccomp filter, a missing capability; any
 * other failure is "denied" too, with its errno); "absent" (the kernel or the stack lacks
 * it: ENOSYS, no such device or filesystem).
 *
 * Each feature is tried in its own forked child under alarm(), so a call that hangs or a
 * filter that kills cannot take the others with it. Raw syscalls only: the libc of the
 * build host may not wrap the newer ones.
 *
 * `gatebox-probe --report-euid` prints "euid=N": the image's setuid-root copy runs that. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROBE_ALARM_S 4
#define SUID_PATH "/probe-suid"

struct result {
  char status[8];  /* works | denied | absent */
  int err;         /* 0 = none */
  char detail[400];
};

static const struct {
  int num;
  const char *name;
} errno_names[] = {
    {EPERM, "EPERM"},   {ENOENT, "ENOENT"}, {ESRCH, "ESRCH"},       {EINTR, "EINTR"},   {EIO, "EIO"},
    {ENXIO, "ENXIO"},   {EBADF, "EBADF"},   {EAGAIN, "EAGAIN"},     {ENOMEM, "ENOMEM"}, {EACCES, "EACCES"},
    {EFAULT, "EFAULT"}, {EBUSY, "EBUSY"},   {EEXIST, "EEXIST"},     {ENODEV, "ENODEV"}, {ENOTDIR, "ENOTDIR"},
    {EINVAL, "EINVAL"}, {EMFILE, "EMFILE"}, {ENOTTY, "ENOTTY"},     {ENOSPC, "ENOSPC"}, {EROFS, "EROFS"},
    {ENOSYS, "ENOSYS"}, {EUSERS, "EUSERS"}, {EOPNOTSUPP, "EOPNOTSUPP"}, {EDQUOT, "EDQUOT"},
    {ETIMEDOUT, "ETIMEDOUT"}, {ENOKEY, "ENOKEY"}, {EKEYREJECTED, "EKEYREJECTED"}, {EDEADLK, "EDEADLK"},
};

static const char *errno_name(int e, char *buf, size_t n) {
  for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; ++i) {
    if (errno_names[i].num == e) return errno_names[i].name;
  }
  snprintf(buf, n, "E%d", e);
  return buf;
}

static void set(struct result *r, const char *status, int err, const char *fmt, ...) {
  va_list ap;
  snprintf(r->status, sizeof r->status, "%s", status);
  r->err = err;
  va_start(ap, fmt);
  vsnprintf(r->detail, sizeof r->detail, fmt, ap);
  va_end(ap);
}

/* A failed call: ENOSYS and missing devices or filesystems mean the stack lacks the
 * feature; anything else (EPERM, EACCES, EINVAL from a half-implemented call) is a denial. */
static void set_failed(struct result *r, const char *what, int err) {
  const int absent = err == ENOSYS || err == ENODEV || err == ENXIO || err == EOPNOTSUPP;
  set(r, absent ? "absent" : "denied", err, "%s: %s", what, strerror(err));
}

static void read_line(const char *path, char *buf, size_t n) {
  buf[0] = '\0';
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t got = read(fd, buf, n - 1);
  close(fd);
  if (got < 0) got = 0;
  buf[got] = '\0';
  char *nl = strchr(buf, '\n');
  if (nl) *nl = '\0';
}

/* "; sysctl NAME=VALUE" when the knob exists, for the detail of a denial. */
static void sysctl_note(char *out, size_t n, const char *name, const char *path) {
  char v[64];
  read_line(path, v, sizeof v);
  if (v[0]) snprintf(out, n, "; %s=%s", name, v);
  else out[0] = '\0';
}

static pid_t fork_sleeper(void) {
  pid_t pid = fork();
  if (pid == 0) {
    for (;;) pause();
  }
  return pid;
}

static void reap(pid_t pid) {
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
}

/* ---- tracing ------------------------------------------------------------------------ */

static void probe_ptrace(struct result *r) {
  char note[96];
  sysctl_note(note, sizeof note, "kernel.yama.ptrace_scope", "/proc/sys/kernel/yama/ptrace_scope");
  pid_t pid = fork_sleeper();
  if (pid < 0) return set_failed(r, "fork", errno);
  if (ptrace(PTRACE_ATTACH, pid, 0, 0) != 0) {
    int e = errno;
    reap(pid);
    set_failed(r, "PTRACE_ATTACH to a child", e);
    strncat(r->detail, note, sizeof r->detail - strlen(r->detail) - 1);
    return;
  }
  int st;
  waitpid(pid, &st, 0);
  ptrace(PTRACE_DETACH, pid, 0, 0);
  reap(pid);
  set(r, "works", 0, "PTRACE_ATTACH to a forked child%s", note);
}

/* What strace needs: a tracee that stops at every system call, and its registers. */
static void probe_strace(struct result *r) {
  pid_t pid = fork();
  if (pid < 0) return set_failed(r, "fork", errno);
  if (pid == 0) {
    if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0) _exit(10);
    raise(SIGSTOP);
    syscall(SYS_getppid);
    _exit(0);
  }
  int st;
  if (waitpid(pid, &st, 0) != pid) return set_failed(r, "waitpid", errno);
  if (WIFEXITED(st)) return set(r, "denied", EPERM, "PTRACE_TRACEME failed in the child");
  if (ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD) != 0) {
    int e = errno;
    reap(pid);
    return set_failed(r, "PTRACE_SETOPTIONS", e);
  }
  int stops = 0;
  long nr = -1;
  for (int i = 0; i < 200; ++i) {
    if (ptrace(PTRACE_SYSCALL, pid, 0, 0) != 0) break;
    if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st)) break;
    if (WSTOPSIG(st) == (SIGTRAP | 0x80)) {
      ++stops;
      struct user_regs_struct regs;
      if (ptrace(PTRACE_GETREGS, pid, 0, &regs) == 0 && regs.orig_rax == SYS_getppid) nr = (long)regs.orig_rax;
    }
  }
  reap(pid);
  if (stops == 0) return set(r, "denied", 0, "PTRACE_SYSCALL gave no system-call stops");
  if (nr < 0) return set(r, "denied", 0, "system-call stops came but the registers did not show the call");
  set(r, "works", 0, "PTRACE_SYSCALL stops with registers (%d stops)", stops);
}

static volatile long vm_marker = 0x6761746562;

static void probe_process_vm_readv(struct result *r) {
  pid_t pid = fork_sleeper();
  if (pid < 0) return set_failed(r, "fork", errno);
  long got = 0;
  struct iovec local = {&got, sizeof got};
  struct iovec remote = {(void *)&vm_marker, sizeof vm_marker};
  ssize_t n = syscall(SYS_process_vm_readv, pid, &local, 1UL, &remote, 1UL, 0UL);
  int e = errno;
  reap(pid);
  if (n != (ssize_t)sizeof got) return set_failed(r, "process_vm_readv of a child", e);
  if (got != vm_marker) return set(r, "denied", 0, "process_vm_readv returned other bytes");
  set(r, "works", 0, "read a forked child's memory");
}

/* ---- kernel interfaces ---------------------------------------------------------------- */

static void probe_bpf(struct result *r) {
  char note[96];
  sysctl_note(note, sizeof note, "kernel.unprivileged_bpf_disabled", "/proc/sys/kernel/unprivileged_bpf_disabled");
  /* r0 = 0; exit: the smallest valid socket filter. */
  struct bpf_insn insns[2];
  memset(insns, 0, sizeof insns);
  insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
  insns[0].dst_reg = BPF_REG_0;
  insns[1].code = BPF_JMP | BPF_EXIT;
  static const char license[] = "GPL";
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  attr.insn_cnt = 2;
  attr.insns = (unsigned long)insns;
  attr.license = (unsigned long)license;
  long fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
  if (fd < 0) {
    set_failed(r, "bpf(BPF_PROG_LOAD, socket filter)", errno);
    strncat(r->detail, note, sizeof r->detail - strlen(r->detail) - 1);
    return;
  }
  close((int)fd);
  set(r, "works", 0, "loaded a socket filter program%s", note);
}

static void probe_perf_event_open(struct result *r) {
  char note[96];
  sysctl_note(note, sizeof note, "kernel.perf_event_paranoid", "/proc/sys/kernel/perf_event_paranoid");
  struct perf_event_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.type = PERF_TYPE_SOFTWARE;
  attr.size = sizeof attr;
  attr.config = PERF_COUNT_SW_TASK_CLOCK;
  attr.exclude_kernel = 1;
  attr.exclude_hv = 1;
  long fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0UL);
  if (fd < 0) {
    set_failed(r, "perf_event_open(task clock, this process)", errno);
    strncat(r->detail, note, sizeof r->detail - strlen(r->detail) - 1);
    return;
  }
  close((int)fd);
  set(r, "works", 0, "a software counter on this process%s", note);
}

static void probe_io_uring(struct result *r) {
  char note[96];
  sysctl_note(note, sizeof note, "kernel.io_uring_disabled", "/proc/sys/kernel/io_uring_disabled");
  unsigned char params[120]; /* struct io_uring_params; zeroed = defaults */
  memset(params, 0, sizeof params);
  long fd = syscall(425 /* io_uring_setup */, 4U, params);
  if (fd < 0) {
    set_failed(r, "io_uring_setup", errno);
    strncat(r->detail, note, sizeof r->detail - strlen(r->detail) - 1);
    return;
  }
  close((int)fd);
  set(r, "works", 0, "io_uring_setup made a ring%s", note);
}

static void probe_keyctl(struct result *r) {
  /* A fresh anonymous session keyring first, so nothing is added to a keyring the host
   * shares (uid 0's user keyring in a stack without a user namespace). */
  long ring = syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, NULL);
  if (ring < 0) return set_failed(r, "keyctl(KEYCTL_JOIN_SESSION_KEYRING)", errno);
  long key = syscall(SYS_add_key, "user", "gatebox-probe", "x", 1UL, -3 /* KEY_SPEC_SESSION_KEYRING */);
  if (key < 0) return set_failed(r, "add_key to a new session keyring", errno);
  syscall(SYS_keyctl, 3 /* KEYCTL_REVOKE */, key);
  set(r, "works", 0, "add_key to a new session keyring");
}

static void probe_userfaultfd(struct result *r) {
  char note[96];
  sysctl_note(note, sizeof note, "vm.unprivileged_userfaultfd", "/proc/sys/vm/unprivileged_userfaultfd");
  /* UFFD_USER_MODE_ONLY (1) is what an unprivileged process may ask for on 5.11+. */
  long fd = syscall(SYS_userfaultfd, O_CLOEXEC | 1);
  if (fd < 0 && errno == EINVAL) fd = syscall(SYS_userfaultfd, O_CLOEXEC);
  if (fd < 0) {
    set_failed(r, "userfaultfd", errno);
    strncat(r->detail, note, sizeof r->detail - strlen(r->detail) - 1);
    return;
  }
  close((int)fd);
  set(r, "works", 0, "userfaultfd gave a descriptor%s", note);
}

/* ---- namespaces and mounts ------------------------------------------------------------ */

static void probe_unshare(struct result *r, int flag, const char *what) {
  if (unshare(flag) != 0) {
    int e = errno;
    char note[96] = "";
    if (flag == CLONE_NEWUSER) {
      sysctl_note(note, sizeof note, "user.max_user_namespaces", "/proc/sys/user/max_user_namespaces");
    }
    set_failed(r, what, e);
    strncat(r->detail, note, sizeof r->detail - strlen(r->detail) - 1);
    return;
  }
  set(r, "works", 0, "%s", what);
}

static void probe_unshare_user(struct result *r) { probe_unshare(r, CLONE_NEWUSER, "unshare(CLONE_NEWUSER)"); }
static void probe_unshare_mount(struct result *r) { probe_unshare(r, CLONE_NEWNS, "unshare(CLONE_NEWNS)"); }
static void probe_unshare_net(struct result *r) { probe_unshare(r, CLONE_NEWNET, "unshare(CLONE_NEWNET)"); }

/* A writable directory to mount on: the child's own, under /tmp (or /dev/shm). */
static int make_temp_dir(char *path, size_t n) {
  const char *bases[] = {"/tmp", "/dev/shm", "/var/tmp"};
  for (size_t i = 0; i < 3; ++i) {
    snprintf(path, n, "%s/gatebox-probe.XXXXXX", bases[i]);
    if (mkdtemp(path)) return 0;
  }
  return -1;
}

enum mount_kind { MOUNT_TMPFS, MOUNT_OVERLAY };

/* Mounts in a private mount namespace when the process may make one, else in place
 * (then unmounts). Returns 0 or an errno; `where` says which way was taken. */
static int try_mount(enum mount_kind kind, const char *dir, const char **where) {
  *where = "in place";
  if (unshare(CLONE_NEWNS) == 0) {
    *where = "in a private mount namespace";
    mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL);
  }
  if (kind == MOUNT_TMPFS) {
    if (mount("gatebox-probe", dir, "tmpfs", 0, "size=1m") != 0) return errno;
    umount2(dir, MNT_DETACH);
    return 0;
  }
  /* overlay: its upper layer must be on a filesystem that supports it; a tmpfs of our own
   * when allowed, else the temp dir itself. */
  char base[320];
  if (mount("gatebox-probe", dir, "tmpfs", 0, "size=1m") != 0) { /* use the dir as it is */ }
  /* Its own subdirectory: an earlier attempt may have left its layers in `dir`. */
  snprintf(base, sizeof base, "%s/o.XXXXXX", dir);
  if (!mkdtemp(base)) return errno;
  char l[340], u[340], w[340], m[340], opts[1100];
  snprintf(l, sizeof l, "%s/l", base);
  snprintf(u, sizeof u, "%s/u", base);
  snprintf(w, sizeof w, "%s/w", base);
  snprintf(m, sizeof m, "%s/m", base);
  if (mkdir(l, 0755) || mkdir(u, 0755) || mkdir(w, 0755) || mkdir(m, 0755)) return errno;
  snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s", l, u, w);
  if (mount("overlay", m, "overlay", 0, opts) != 0) return errno;
  umount2(m, MNT_DETACH);
  return 0;
}

static int write_text(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = write(fd, text, strlen(text));
  close(fd);
  return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Root in the new user namespace is the caller outside, as `unshare -r` does: files made
 * by an unmapped user would fail with EOVERFLOW. */
static int map_self(unsigned uid, unsigned gid) {
  char line[64];
  write_text("/proc/self/setgroups", "deny");
  snprintf(line, sizeof line, "0 %u 1\n", uid);
  if (write_text("/proc/self/uid_map", line) != 0) return -1;
  snprintf(line, sizeof line, "0 %u 1\n", gid);
  return write_text("/proc/self/gid_map", line);
}

/* The same mount inside a new user + mount namespace: the rootless route that buildah and
 * rootless docker take. Run in a grandchild; 0 or an errno. */
static int try_mount_in_userns(enum mount_kind kind, const char *dir) {
  pid_t pid = fork();
  if (pid < 0) return errno;
  if (pid == 0) {
    const char *where;
    const unsigned uid = (unsigned)geteuid(), gid = (unsigned)getegid();
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) _exit(200);
    if (map_self(uid, gid) != 0 && kind == MOUNT_OVERLAY) _exit(201);
    _exit(try_mount(kind, dir, &where));
  }
  int st;
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) return EINTR;
  return WEXITSTATUS(st) == 200 ? -1 : WEXITSTATUS(st) == 201 ? -2 : WEXITSTATUS(st);
}

static void probe_mount(struct result *r, enum mount_kind kind) {
  const char *name = kind == MOUNT_TMPFS ? "mount tmpfs" : "mount overlay";
  char dir[300];
  if (make_temp_dir(dir, sizeof dir) != 0) {
    return set(r, "denied", errno, "%s: no writable /tmp, /dev/shm or /var/tmp to mount on", name);
  }
  /* The user-namespace route first, from the unchanged parent namespace. */
  int via_userns = try_mount_in_userns(kind, dir);
  const char *where;
  int e = try_mount(kind, dir, &where);
  char tail[160];
  if (via_userns == 0) snprintf(tail, sizeof tail, "; inside a new user namespace: works");
  else if (via_userns == -1) snprintf(tail, sizeof tail, "; a new user namespace could not be made");
  else if (via_userns == -2) {
    snprintf(tail, sizeof tail, "; in a new user namespace our uid could not be mapped (mapping uid 0 needs CAP_SETFCAP)");
  }
  else snprintf(tail, sizeof tail, "; inside a new user namespace: %s", strerror(via_userns));
  if (e != 0) {
    char what[120];
    snprintf(what, sizeof what, "%s %s", name, where);
    set_failed(r, what, e);
    if (e == ENODEV) snprintf(r->detail, sizeof r->detail, "%s: the kernel has no such filesystem", what);
  } else {
    set(r, "works", 0, "%s %s", name, where);
  }
  strncat(r->detail, tail, sizeof r->detail - strlen(r->detail) - 1);
  rmdir(dir);
}

static void probe_mount_tmpfs(struct result *r) { probe_mount(r, MOUNT_TMPFS); }
static void probe_mount_overlay(struct result *r) { probe_mount(r, MOUNT_OVERLAY); }

/* ---- devices, identity, cgroups ------------------------------------------------------- */

static void probe_device(struct result *r, const char *path, unsigned long check_ioctl, const char *what) {
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT) return set(r, "absent", e, "no %s in the sandbox", path);
    return set_failed(r, path, e);
  }
  if (check_ioctl) {
    int v = ioctl(fd, check_ioctl, 0);
    int e = errno;
    close(fd);
    if (v < 0) return set_failed(r, "KVM_GET_API_VERSION", e);
    return set(r, "works", 0, "opened %s; KVM API version %d", path, v);
  }
  close(fd);
  set(r, "works", 0, "opened %s (%s)", path, what);
}

static void probe_fuse(struct result *r) {
  probe_device(r, "/dev/fuse", 0, "mounting a FUSE filesystem also needs mount rights");
}
static void probe_kvm(struct result *r) { probe_device(r, "/dev/kvm", 0xAE00 /* KVM_GET_API_VERSION */, ""); }

static void probe_setuid(struct result *r) {
  struct stat st;
  if (stat(SUID_PATH, &st) != 0) return set(r, "absent", errno, "no %s in the image", SUID_PATH);
  if (st.st_uid != 0 || !(st.st_mode & S_ISUID)) {
    return set(r, "denied", 0, "%s is not setuid root here (owner %u, mode %o): the stack changed it", SUID_PATH,
               (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
  }
  int p[2];
  if (pipe(p) != 0) return set_failed(r, "pipe", errno);
  pid_t pid = fork();
  if (pid < 0) return set_failed(r, "fork", errno);
  if (pid == 0) {
    close(p[0]);
    dup2(p[1], 1);
    if (setgroups(0, NULL), setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) _exit(100);
    char *argv[] = {(char *)SUID_PATH, (char *)"--report-euid", NULL};
    char *envp[] = {NULL};
    execve(SUID_PATH, argv, envp);
    _exit(101);
  }
  close(p[1]);
  char buf[64] = "";
  ssize_t n = read(p[0], buf, sizeof buf - 1);
  close(p[0]);
  int status;
  waitpid(pid, &status, 0);
  buf[n > 0 ? n : 0] = '\0';
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code == 100) {
    /* The probe cannot become an ordinary user (uid 0 without CAP_SETUID): judge from
     * what would stop the set-uid bit instead. */
    struct statvfs vfs;
    int nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
    if (nnp == 1) return set(r, "denied", 0, "no_new_privs is set: exec ignores set-uid bits (could not drop to uid 65534 to try)");
    if (statvfs(SUID_PATH, &vfs) == 0 && (vfs.f_flag & ST_NOSUID)) {
      return set(r, "denied", 0, "the image is mounted nosuid (could not drop to uid 65534 to try)");
    }
    return set(r, "works", 0, "no no_new_privs and no nosuid mount: set-uid bits would be honoured (could not drop to uid 65534 to try)");
  }
  if (code == 101) return set(r, "denied", 0, "exec of %s failed", SUID_PATH);
  if (strncmp(buf, "euid=0", 6) == 0) return set(r, "works", 0, "uid 65534 ran %s and got euid 0", SUID_PATH);
  buf[strcspn(buf, "\n")] = '\0';
  set(r, "denied", 0, "uid 65534 ran %s and got %s: set-uid bits are ignored (no_new_privs or nosuid)", SUID_PATH,
      buf[0] ? buf : "no answer");
}

static void probe_cgroupfs_writable(struct result *r) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  char line[1024], best[512] = "";
  int any = 0;
  while (f && fgets(line, sizeof line, f)) {
    char mnt[512], fstype[64];
    const char *sep = strstr(line, " - ");
    if (!sep || sscanf(line, "%*s %*s %*s %*s %511s", mnt) != 1 || sscanf(sep + 3, "%63s", fstype) != 1) continue;
    if (strcmp(fstype, "cgroup2") != 0 && strcmp(fstype, "cgroup") != 0) continue;
    any = 1;
    /* Prefer cgroup2; else the first v1 hierarchy. */
    if (!best[0] || strcmp(fstype, "cgroup2") == 0) snprintf(best, sizeof best, "%s", mnt);
  }
  if (f) fclose(f);
  if (!any) {
    struct stat st;
    if (stat("/sys/fs/cgroup", &st) != 0) return set(r, "absent", ENOENT, "no cgroup filesystem is mounted");
    snprintf(best, sizeof best, "/sys/fs/cgroup");
  }
  char dir[600];
  snprintf(dir, sizeof dir, "%s/gatebox-probe-%d", best, (int)getpid());
  if (mkdir(dir, 0755) != 0) {
    char what[620];
    snprintf(what, sizeof what, "mkdir %s", dir);
    if (errno == ENOENT) return set(r, "absent", ENOENT, "%s: the cgroup mount point is missing", what);
    return set_failed(r, what, errno);
  }
  rmdir(dir);
  set(r, "works", 0, "made a child cgroup under %s", best);
}

/* ---- the driver ----------------------------------------------------------------------- */

typedef void (*probe_fn)(struct result *);
static const struct {
  const char *name;
  probe_fn fn;
} probes[] = {
    {"ptrace", probe_ptrace},
    {"strace", probe_strace},
    {"process_vm_readv", probe_process_vm_readv},
    {"bpf", probe_bpf},
    {"perf_event_open", probe_perf_event_open},
    {"io_uring", probe_io_uring},
    {"keyctl", probe_keyctl},
    {"userfaultfd", probe_userfaultfd},
    {"unshare_user", probe_unshare_user},
    {"unshare_mount", probe_unshare_mount},
    {"unshare_net", probe_unshare_net},
    {"mount_tmpfs", probe_mount_tmpfs},
    {"mount_overlay", probe_mount_overlay},
    {"fuse", probe_fuse},
    {"kvm", probe_kvm},
    {"setuid", probe_setuid},
    {"cgroupfs_writable", probe_cgroupfs_writable},
};
#define NPROBES (sizeof probes / sizeof probes[0])

static void run_one(probe_fn fn, struct result *r) {
  int p[2];
  if (pipe(p) != 0) return set_failed(r, "pipe", errno);
  pid_t pid = fork();
  if (pid < 0) {
    close(p[0]);
    close(p[1]);
    return set_failed(r, "fork", errno);
  }
  if (pid == 0) {
    close(p[0]);
    alarm(PROBE_ALARM_S);
    struct result mine;
    memset(&mine, 0, sizeof mine);
    set(&mine, "denied", 0, "the probe returned nothing");
    fn(&mine);
    ssize_t ignored = write(p[1], &mine, sizeof mine);
    (void)ignored;
    _exit(0);
  }
  close(p[1]);
  ssize_t n = read(p[0], r, sizeof *r);
  close(p[0]);
  int st;
  waitpid(pid, &st, 0);
  if (n == (ssize_t)sizeof *r) return;
  if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM) return set(r, "denied", 0, "no answer within %d s", PROBE_ALARM_S);
  if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS) return set(r, "denied", 0, "killed by SIGSYS (a seccomp filter)");
  if (WIFSIGNALED(st)) return set(r, "denied", 0, "the probe died of signal %d", WTERMSIG(st));
  set(r, "denied", 0, "the probe exited with status %d", WEXITSTATUS(st));
}

static int works(const struct result *r) { return strcmp(r->status, "works") == 0; }
static int works_in_userns(const struct result *r) { return strstr(r->detail, "inside a new user namespace: works") != NULL; }

/* What `docker build` (BuildKit, rootless or not) or buildah need inside the gate: their
 * own mount namespace with an overlay (kernel overlay, or fuse-overlayfs through /dev/fuse)
 * — either directly or inside a user namespace they create — and a network namespace for
 * RUN steps. A writable cgroupfs is needed by runc for RUN steps unless cgroups are off. */
static void derive_docker_build(const struct result *res, struct result *r) {
  const struct result *user = &res[8], *mnt = &res[9], *net = &res[10], *tmpfs = &res[11], *ovl = &res[12],
                      *fuse = &res[13], *cg = &res[16];
  int overlay = works(ovl) && works(mnt);
  int rootless = works(user) && works_in_userns(ovl);
  int fuse_route = works(user) && works(fuse) && works_in_userns(tmpfs);
  const char *how = overlay ? "overlay mounts directly"
                  : rootless ? "rootless: a user namespace with overlay"
                  : fuse_route ? "rootless with fuse-overlayfs (user namespace + /dev/fuse)"
                  : NULL;
  if (!how) {
    return set(r, "denied", 0,
               "needs unshare user+mount and an overlay (kernel or fuse-overlayfs); here: unshare_user %s, "
               "mount_overlay %s, fuse %s",
               user->status, ovl->status, fuse->status);
  }
  set(r, "works", 0, "%s; for RUN steps: unshare_net %s, cgroupfs %s", how, net->status,
      works(cg) ? "writable (runc can limit them)" : "not writable (RUN steps without cgroup limits, e.g. buildah --isolation chroot)");
}

static void print_json_string(const char *s) {
  putchar('"');
  for (; *s; ++s) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c < 0x20 || c >= 0x7f) printf("\\u%04x", c);
    else putchar(c);
  }
  putchar('"');
}

static void print_result(const char *name, const struct result *r, int last) {
  char buf[16];
  printf("  \"%s\": {\"status\": \"%s\", \"errno\": ", name, r->status);
  if (r->err) print_json_string(errno_name(r->err, buf, sizeof buf));
  else fputs("null", stdout);
  fputs(", \"detail\": ", stdout);
  print_json_string(r->detail);
  printf("}%s\n", last ? "" : ",");
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--report-euid") == 0) {
    printf("euid=%u\n", (unsigned)geteuid());
    return 0;
  }
  static struct result results[NPROBES];
  for (size_t i = 0; i < NPROBES; ++i) run_one(probes[i].fn, &results[i]);
  struct result build;
  derive_docker_build(results, &build);
  fputs("{\n", stdout);
  for (size_t i = 0; i < NPROBES; ++i) print_result(probes[i].name, &results[i], 0);
  print_result("docker_build", &build, 1);
  fputs("}\n", stdout);
  return 0;
}
