// The native stack: gatebox itself builds the sandbox (docs/ARCHITECTURE.md §4.5).
#include "util/process.hpp"
#include "stack/native/native_stack.hpp"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <optional>
#include <vector>

#include "log/console.hpp"
#include "stack/native/cgroup.hpp"
#include "stack/native/child.hpp"
#include "stack/native/idmap.hpp"
#include "stack/native/plan.hpp"
#include "stack/native/supervisor.hpp"
#include "util/command_line.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"
#include "util/interrupt.hpp"

namespace gatebox {
namespace {

namespace fs = std::filesystem;

int cap_last_cap() {
  std::string v = read_first_line("/proc/sys/kernel/cap_last_cap");
  return v.empty() ? 40 : std::stoi(v);
}

bool has_filesystem(std::string_view name) {
  std::ifstream in("/proc/filesystems");
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() >= name.size() && line.compare(line.size() - name.size(), name.size(), name) == 0) return true;
  }
  return false;
}

// Why an unprivileged user may not create the user namespace the native stack needs; empty if it may.
std::string userns_blocker() {
  if (read_first_line("/proc/sys/kernel/unprivileged_userns_clone") == "0") {
    return "unprivileged user namespaces are disabled (sysctl kernel.unprivileged_userns_clone=0); run as root or enable them";
  }
  if (read_first_line("/proc/sys/user/max_user_namespaces") == "0") {
    return "user namespaces are disabled (sysctl user.max_user_namespaces=0); run as root or raise it";
  }
  if (read_first_line("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1") {
    return "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1); run as root";
  }
  return "";
}

// The run's directory on the host: the mount point of its scratch tmpfs, which exists only
// in the sandbox's mount namespace, so on the host it stays empty and is removed after.
class RunDir {
 public:
  RunDir(const fs::path& cache_dir, const std::string& run_id) {
    fs::path parent = cache_dir / "run";
    std::error_code ec;
    fs::create_directories(parent, ec);
    path_ = (parent / run_id).string();
    if (::mkdir(path_.c_str(), 0700) != 0) throw sys_error("mkdir", path_);
  }
  ~RunDir() { ::rmdir(path_.c_str()); }
  RunDir(const RunDir&) = delete;
  RunDir& operator=(const RunDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void write_file(const std::string& path, const std::string& text) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) throw sys_error("open", path);
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) throw sys_error("write", path);
}

// Root with a user namespace (plan.id_base): each profile mount as a detached mount made
// here, from the descriptor its check opened, with its flags set on every mount below it
// (recursively read-only if asked, nosuid, nodev); the child attaches it. The sandbox's ids
// could not walk to a source below a directory closed to them (a 0700 home). Returns the
// descriptors, which must outlive the clone.
std::vector<Fd> detach_profile_mounts(SetupPlan& plan) {
  std::vector<Fd> out;
  if (plan.id_base == 0) return out;
  for (MountOp& op : plan.ops) {
    if (op.kind != OpKind::bind || op.source_fd < 0) continue;
    const int fd = clone_mount_flagged(op.source_fd, op.readonly);
    if (fd < 0) throw sys_error("open_tree/mount_setattr", op.what, -fd);
    Fd tree(fd);
    op.detached_fd = tree.get();
    out.push_back(std::move(tree));
  }
  return out;
}

// Not root: the sandbox's run.uid/gid are the invoking user, and nobody else exists.
void map_ids(pid_t pid, const Profile& profile) {
  const std::string base = fmt::format("/proc/{}/", pid);
  write_file(base + "setgroups", "deny");
  write_file(base + "uid_map", fmt::format("{} {} 1\n", profile.run.uid, ::geteuid()));
  write_file(base + "gid_map", fmt::format("{} {} 1\n", profile.run.gid, ::getegid()));
}


class NativeStack final : public Stack {
 public:
  std::string_view name() const override { return "native"; }

  Availability probe_host() const override {
    Availability a;
    struct utsname u;
    ::uname(&u);
    a.details.emplace_back("kernel", u.release);
    CgroupHost cg = detect_cgroups();
    a.details.emplace_back("cgroup", cg.description.empty() ? "none" : cg.description);
    const bool root = ::geteuid() == 0;
    std::string blocker = userns_blocker();
    a.details.emplace_back("user namespaces", blocker.empty() ? "available" : "unavailable");
    a.details.emplace_back("mode", root ? "root (user namespace: ids are an unprivileged host range)"
                                        : "unprivileged (user namespace)");
    if (!has_filesystem("overlay")) {
      a.reason = "the kernel has no overlayfs (modprobe overlay)";
      return a;
    }
    if (!root && !blocker.empty()) {
      a.reason = blocker;
      return a;
    }
    if (!cg.unusable_reason.empty()) a.details.emplace_back("limits", "rlimits only: " + cg.unusable_reason);
    a.available = true;
    return a;
  }

  // Needs user notifications (5.0) and pidfd_getfd (5.6): init takes the listener from the gate.
  bool supports_seccomp_report() const override {
    std::uint32_t action = SECCOMP_RET_USER_NOTIF;
    if (::syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) != 0) return false;
    return !(::syscall(SYS_pidfd_getfd, -1, 0, 0) < 0 && errno == ENOSYS);
  }

  std::string describe(const RunRequest& request) const override {
    const bool root = ::geteuid() == 0;
    const std::string run_dir = (request.cache_dir / "run" / request.run_id).string();
    // As root, a run picks its id range when it starts (and checks that the tree can be
    // idmapped): the dry run shows one such range.
    const SetupPlan plan = build_plan(
        request, PlanHost{root, run_dir, cap_last_cap(), detect_cgroups().unusable_reason.empty(), root ? pick_id_base() : 0});
    return describe_plan(plan);
  }

  RunOutcome run(const RunRequest& request) override {
    const auto t_begin = std::chrono::steady_clock::now();
    const Profile& profile = request.profile;
    const bool root = ::geteuid() == 0;

    std::unique_ptr<Cgroup> cgroup;
    CgroupHost cg_host = detect_cgroups();
    if (cg_host.unusable_reason.empty() && cg_host.layout != CgroupLayout::none) {
      cgroup = create_cgroup(request.run_id, {profile.limits.memory, profile.limits.pids, profile.limits.cpus});
    } else {
      Console::get().warn(fmt::format("no cgroup limits ({}); memory and pids are bounded by rlimits only",
                                      cg_host.unusable_reason.empty() ? "no cgroup hierarchy" : cg_host.unusable_reason));
    }
    RunDir run_dir(request.cache_dir, request.run_id);
    // As root, the sandbox gets a user namespace of its own too: its ids are an unprivileged
    // host range, and the tree is idmapped onto it. Where that cannot be done (an old kernel,
    // a cache on a file system without idmapped mounts, ids beyond the range), uid 0 in the
    // sandbox stays host uid 0 without capabilities, and gatebox says so.
    std::optional<Fd> lower;
    std::uint32_t id_base = 0;
    if (root) {
      std::string why;
      if (profile.run.uid >= kSandboxIds || profile.run.gid >= kSandboxIds) {
        why = fmt::format("run.user {}:{} is beyond the {} ids it maps", profile.run.uid, profile.run.gid, kSandboxIds);
      } else {
        id_base = pick_id_base();
        lower = idmapped_tree(request.rootfs.dir, id_base, why);
      }
      if (!lower) {
        id_base = 0;
        Console::get().warn(fmt::format("the sandbox has no user namespace ({}): uid {} inside is host uid {} "
                                        "(without capabilities)", why, profile.run.uid, profile.run.uid));
      }
    }
    SetupPlan plan = build_plan(request, PlanHost{root, run_dir.path(), cap_last_cap(), cgroup != nullptr, id_base});
    std::vector<Fd> detached = detach_profile_mounts(plan);
    if (lower) plan.lower_fd = lower->get();
    plan.own_command_line = own_command_line_area();

    Pipe sync = make_pipe(), setup = make_pipe(), status = make_pipe();
    Pipe out = make_pipe(O_NONBLOCK), err = make_pipe(O_NONBLOCK);
    // The gate's ends must block: a gate writing faster than we read simply waits.
    ::fcntl(out.write.get(), F_SETFL, 0);
    ::fcntl(err.write.get(), F_SETFL, 0);
    Fd notify_read, notify_write;  // seccomp.report: init sends the gate's listener over this
    if (plan.seccomp_notify) {
      int sv[2];
      if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) throw sys_error("socketpair", "seccomp listener");
      notify_read.reset(sv[0]);
      notify_write.reset(sv[1]);
      ::fcntl(notify_read.get(), F_SETFL, O_NONBLOCK);
    }

    unsigned long flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET;
    if (plan.user_namespace) flags |= CLONE_NEWUSER;
    const pid_t parent = ::getpid();
    // clone without CLONE_VM behaves like fork: the child gets a copy of the plan.
    pid_t pid = static_cast<pid_t>(::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr));
    if (pid < 0) throw sys_error("clone", "new namespaces");
    if (pid == 0) {
      restore_signals_in_child();
      ChildChannels ch{sync.read.get(), setup.write.get(), status.write.get(), out.write.get(), err.write.get(),
                       notify_write.get()};
      if (notify_read) ::close(notify_read.get());
      ::close(sync.write.get());
      ::close(setup.read.get());
      ::close(status.read.get());
      ::close(out.read.get());
      ::close(err.read.get());
      run_sandbox_init(plan, ch, parent);
    }
    SandboxProcess sandbox(pid, cgroup.get());
    sync.read.reset();
    setup.write.reset();
    status.write.reset();
    out.write.reset();
    err.write.reset();
    notify_write.reset();

    lower.reset();  // the child has its copies
    detached.clear();
    if (!root) map_ids(pid, profile);
    if (plan.id_base != 0) map_id_range(pid, plan.id_base);
    if (cgroup) cgroup->add_process(pid);
    if (::write(sync.write.get(), "g", 1) != 1) throw sys_error("write", "sandbox sync pipe");
    sync.write.reset();

    SupervisorIo io{setup.read.get(), status.read.get(), out.read.get(), err.read.get(), notify_read.get()};
    RunOutcome outcome = supervise(sandbox, plan, io, request, t_begin);
    outcome.seccomp_reported = profile.seccomp.report;  // unconfined: a report with nothing denied
    const auto t_end = std::chrono::steady_clock::now();
    if (cgroup) {
      outcome.oom_killed = outcome.oom_killed || cgroup->oom_killed();
      // On cgroup v2 the OOM killer takes the whole group, init included: no status is expected then.
      if (outcome.oom_killed) outcome.stack_error.reset();
      CgroupUsage u = cgroup->usage();
      if (u.cpu_user_ms || u.cpu_system_ms) {
        outcome.usage.cpu_user_ms = std::max(outcome.usage.cpu_user_ms, u.cpu_user_ms);
        outcome.usage.cpu_system_ms = std::max(outcome.usage.cpu_system_ms, u.cpu_system_ms);
      }
    }
    cgroup.reset();
    outcome.timings.teardown_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t_end).count();
    return outcome;
  }

  std::vector<std::string> sweep(const fs::path& cache_dir) override {
    std::vector<std::string> removed;
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(cache_dir / "run", ec)) {
      const std::string name = e.path().filename().string();
      pid_t owner = static_cast<pid_t>(std::strtol(name.c_str(), nullptr, 10));
      if (owner <= 0 || process_alive(owner)) continue;
      if (::rmdir(e.path().c_str()) == 0) removed.push_back("run dir " + e.path().string());
    }
    if (::geteuid() == 0) {
      for (std::string& line : sweep_cgroups()) removed.push_back(std::move(line));
    }
    return removed;
  }
};

}  // namespace

std::unique_ptr<Stack> make_native_stack() { return std::make_unique<NativeStack>(); }

}  // namespace gatebox
