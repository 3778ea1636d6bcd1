#include "stack/native/plan.hpp"

#include <sys/mount.h>

#include <algorithm>

#include "stack/etc_files.hpp"
#include "stack/native/idmap.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/units.hpp"

namespace gatebox {
namespace {

constexpr unsigned long kNoSuidDev = MS_NOSUID | MS_NODEV;

// /proc entries that leak host information or act on the host: hidden behind /dev/null
// (files) or an empty read-only tmpfs (directories).
constexpr const char* kMaskedProcFiles[] = {"kcore", "keys", "latency_stats", "timer_list", "timer_stats",
                                            "sched_debug", "kallsyms", "kpagecount", "kpageflags", "kpagecgroup"};
constexpr const char* kMaskedProcDirs[] = {"acpi", "asound", "scsi", "firmware"};
// /proc entries that write to the host kernel: read-only. sysrq-trigger is the sharpest:
// a writable one lets a uid-0 gate reboot the host. Each says whether it is a directory:
// the child refuses to resolve a file as a directory (and the reverse), so a wrong kind
// here is a set-up error, not a silently skipped step.
struct ProcEntry {
  const char* name;
  bool is_dir;
};
constexpr ProcEntry kReadonlyProc[] = {
    {"sys", true}, {"sysrq-trigger", false}, {"irq", true}, {"bus", true}, {"fs", true}};
constexpr const char* kDevices[] = {"null", "zero", "full", "random", "urandom", "tty"};

std::string relative(std::string_view sandbox_path) {
  while (!sandbox_path.empty() && sandbox_path.front() == '/') sandbox_path.remove_prefix(1);
  return std::string(sandbox_path);
}

std::string parent_of(const std::string& sandbox_path) {
  auto slash = sandbox_path.rfind('/');
  return slash == std::string::npos || slash == 0 ? "/" : sandbox_path.substr(0, slash);
}

MountOp op(OpKind kind, std::string target, std::string what) {
  MountOp o;
  o.kind = kind;
  o.target = relative(target);
  o.what = std::move(what);
  return o;
}

void add_proc(std::vector<MountOp>& ops) {
  MountOp proc = op(OpKind::proc, "proc", "/proc");
  proc.flags = kNoSuidDev | MS_NOEXEC;
  ops.push_back(proc);
  for (const char* f : kMaskedProcFiles) {
    MountOp m = op(OpKind::bind, std::string("proc/") + f, std::string("mask /proc/") + f);
    m.source = "/dev/null";
    m.is_dir = false;
    m.hardening = true;
    ops.push_back(m);
  }
  for (const char* d : kMaskedProcDirs) {
    MountOp m = op(OpKind::tmpfs, std::string("proc/") + d, std::string("mask /proc/") + d);
    m.data = "size=0,mode=0555";
    m.flags = kNoSuidDev | MS_NOEXEC | MS_RDONLY;
    m.hardening = true;
    ops.push_back(m);
  }
  for (const ProcEntry& p : kReadonlyProc) {
    MountOp m = op(OpKind::rebind, std::string("proc/") + p.name, std::string("read-only /proc/") + p.name);
    m.is_dir = p.is_dir;
    m.readonly = true;
    m.hardening = true;
    ops.push_back(m);
  }
}

void add_dev(std::vector<MountOp>& ops, std::uint64_t disk) {
  MountOp dev = op(OpKind::tmpfs, "dev", "/dev");
  dev.data = "size=64k,nr_inodes=64,mode=0755";
  dev.flags = MS_NOSUID | MS_NOEXEC;
  ops.push_back(dev);
  for (const char* d : kDevices) {
    MountOp b = op(OpKind::bind, std::string("dev/") + d, std::string("/dev/") + d);
    b.source = std::string("/dev/") + d;
    b.is_dir = false;  // no flags: a remount per device would cost more than it protects
    ops.push_back(b);
  }
  MountOp pts = op(OpKind::devpts, "dev/pts", "/dev/pts");
  pts.data = "newinstance,ptmxmode=0666,mode=0620";
  pts.flags = MS_NOSUID | MS_NOEXEC;
  ops.push_back(pts);
  MountOp shm = op(OpKind::tmpfs, "dev/shm", "/dev/shm");
  shm.data = fmt::format("size={},mode=1777", std::min<std::uint64_t>(disk, 64ULL << 20));
  shm.flags = kNoSuidDev | MS_NOEXEC;
  ops.push_back(shm);
  const std::pair<const char*, const char*> links[] = {
      {"dev/ptmx", "pts/ptmx"}, {"dev/fd", "/proc/self/fd"}, {"dev/stdin", "/proc/self/fd/0"},
      {"dev/stdout", "/proc/self/fd/1"}, {"dev/stderr", "/proc/self/fd/2"}};
  for (const auto& [link, text] : links) {
    MountOp s = op(OpKind::symlink, link, std::string("/") + link);
    s.source = text;
    ops.push_back(s);
  }
}

void add_writable_dir(std::vector<MountOp>& ops, const std::string& sandbox_dir) {
  MountOp m = op(OpKind::mkdir, sandbox_dir, sandbox_dir);
  m.mode = 01777;
  ops.push_back(m);
}

}  // namespace

SetupPlan build_plan(const RunRequest& request, const PlanHost& host) {
  const Profile& p = request.profile;
  SetupPlan plan;
  plan.run_dir = host.run_dir;
  // Inodes are bounded too: empty files cost no blocks, so size alone does not stop an inode bomb.
  auto disk_tmpfs = [&](const char* mode) {
    return fmt::format("size={},nr_inodes={},mode={}", p.limits.disk, std::max<std::uint64_t>(p.limits.disk / 4096, 4096),
                       mode);
  };
  plan.scratch_data = disk_tmpfs("0700");
  plan.unprivileged = !host.root;
  plan.id_base = host.root ? host.id_base : 0;
  plan.user_namespace = plan.unprivileged || plan.id_base != 0;
  // Root with a user namespace: relative to the scratch tmpfs, the child's working directory.
  const std::string scratch = plan.id_base != 0 ? "" : host.run_dir + "/";
  plan.upper_dir = scratch + "upper";
  plan.work_dir = scratch + "work";
  plan.root_dir = scratch + "root";
  if (plan.id_base != 0) plan.lower_dir = "lower";
  plan.overlay_data = overlay_options(plan.lower_dir.empty() ? request.rootfs.dir.string() : plan.lower_dir,
                                      plan.upper_dir, plan.work_dir);
  // In a user namespace overlayfs cannot write trusted.* xattrs; user.* ones on tmpfs work.
  if (plan.user_namespace) plan.overlay_data += ",userxattr";

  add_proc(plan.ops);
  add_dev(plan.ops, p.limits.disk);
  // /tmp as every other stack has it: a tmpfs of its own (limits.disk, inodes bounded),
  // exec allowed, nosuid, nodev. Writes elsewhere stay bounded by the scratch tmpfs.
  MountOp tmp = op(OpKind::tmpfs, "tmp", "/tmp");
  tmp.data = disk_tmpfs("1777");
  tmp.flags = kNoSuidDev;
  plan.ops.push_back(tmp);
  if (!p.verdict.file.empty()) {
    const std::string dir = parent_of(p.verdict.file);
    if (dir != "/") add_writable_dir(plan.ops, dir);
  }
  int index = 0;
  for (const ResolvedMount& m : request.mounts) {
    MountOp b = op(OpKind::bind, m.target, fmt::format("mount {} ({} -> {})", ++index, m.source, m.target));
    // Never bound by name: the child checks what it finds against this descriptor.
    if (!m.fd || !m.fd->valid()) {
      throw make_error(ExitCode::internal, "mount {} ({}): its source was not opened when it was checked", index,
                       m.source);
    }
    b.source = m.source;
    b.source_fd = m.fd->get();
    b.is_dir = m.is_dir;
    b.readonly = m.readonly;
    b.flags = kNoSuidDev;
    plan.ops.push_back(b);
  }

  // run.cwd is made (root's, 0755) when the image lacks it, as runc, runsc and the guest
  // agent make it: the same profile runs the same way on every stack.
  if (p.run.cwd != "/") {
    MountOp cwd = op(OpKind::mkdir, p.run.cwd, "run.cwd " + p.run.cwd);
    cwd.mode = 0755;
    plan.ops.push_back(cwd);
  }

  for (EtcFile& f : etc_files(p.run.hostname)) {
    MountOp file = op(OpKind::file, "/etc/" + f.name, "/etc/" + f.name);
    file.data = std::move(f.text);
    plan.ops.push_back(std::move(file));
  }

  plan.hostname = p.run.hostname;
  plan.loopback = p.network.mode == NetworkMode::loopback;
  plan.cwd = p.run.cwd;
  plan.uid = p.run.uid;
  plan.gid = p.run.gid;
  plan.cap_last_cap = host.cap_last_cap;
  plan.nofile = p.limits.open_files;
  if (!host.cgroup_limits) {
    plan.nproc = p.limits.pids;
    plan.address_space = p.limits.memory;
  }
  SeccompPolicy seccomp = request.seccomp;
  seccomp.notify = request.profile.seccomp.report && !seccomp.unconfined;
  plan.seccomp = compile_seccomp_bpf_cached(seccomp, request.cache_dir);
  plan.seccomp_notify = seccomp.notify;
  plan.verdict_file = p.verdict.file;

  plan.argv_storage = p.run.argv;
  for (const auto& [name, value] : p.run.env) plan.env_storage.push_back(name + "=" + value);
  plan.exec_candidates = exec_candidates(p.run.argv.front(), p.run.env);
  for (std::string& s : plan.argv_storage) plan.argv.push_back(s.data());
  plan.argv.push_back(nullptr);
  for (std::string& s : plan.env_storage) plan.envp.push_back(s.data());
  plan.envp.push_back(nullptr);
  return plan;
}

std::string describe_plan(const SetupPlan& plan) {
  static constexpr const char* kinds[] = {"mkdir", "tmpfs", "proc", "devpts", "bind", "rebind", "symlink", "file"};
  std::string out = fmt::format("clone: mount, pid, ipc, uts, net{} namespaces; cgroup namespace after joining the run's cgroup\n",
                                plan.user_namespace ? ", user" : "");
  if (plan.id_base != 0) {
    out += fmt::format("user namespace: ids 0-{} are host ids {}-{} (a slot picked per run); the tree idmapped "
                       "onto them, attached at {} in the scratch tmpfs\n",
                       kSandboxIds - 1, plan.id_base, plan.id_base + kSandboxIds - 1, plan.lower_dir);
  }
  out += fmt::format("scratch tmpfs on {} ({})\n", plan.run_dir, plan.scratch_data);
  out += fmt::format("overlay on {} ({})\n", plan.root_dir, plan.overlay_data);
  for (const MountOp& op : plan.ops) {
    out += fmt::format("  {:<7} /{}", kinds[static_cast<int>(op.kind)], op.target);
    if (!op.source.empty()) out += fmt::format(" <- {}", op.source);
    if (!op.data.empty()) out += fmt::format(" ({})", op.data);
    if (op.readonly) out += op.source_fd >= 0 ? " read-only (recursively)" : " read-only";
    out += "\n";
  }
  out += fmt::format("pivot_root; hostname {}; network {}\n", plan.hostname, plan.loopback ? "loopback" : "none");
  out += fmt::format("drop every capability (last cap {}), no_new_privs, uid {} gid {}, RLIMIT_NOFILE {}\n",
                     plan.cap_last_cap, plan.uid, plan.gid, plan.nofile);
  out += plan.seccomp.empty() ? std::string("seccomp: none (unconfined)\n")
                              : fmt::format("seccomp: BPF filter of {} instructions{}\n", plan.seccomp.size(),
                                            plan.seccomp_notify ? ", denied calls counted by gatebox (seccomp.report)" : "");
  out += fmt::format("execve {} (cwd {}), tried as: {}", fmt::join(plan.argv_storage, " "), plan.cwd,
                     fmt::join(plan.exec_candidates, ", "));
  return out;
}

}  // namespace gatebox
