#include "stack/gvisor/oci_bundle.hpp"

#include <errno.h>

#include <fcntl.h>
#include <unistd.h>

#include <cmath>

#include "policy/oci_seccomp.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "stack/etc_files.hpp"

namespace gatebox {
namespace {

using nlohmann::json;

constexpr std::uint64_t kCpuPeriodUs = 100'000;

json system_mounts(const Profile& p) {
  const std::string tmp_size = fmt::format("size={}", p.limits.disk);
  return json::array({
      {{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}, {"options", {"nosuid", "noexec", "nodev"}}},
      {{"destination", "/dev"}, {"type", "tmpfs"}, {"source", "tmpfs"},
       {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
      {{"destination", "/dev/pts"}, {"type", "devpts"}, {"source", "devpts"},
       {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}}},
      {{"destination", "/dev/shm"}, {"type", "tmpfs"}, {"source", "shm"},
       {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
      // gVisor honours size= on tmpfs: this is what bounds the gate's scratch space. Writes
      // elsewhere go to runsc's memory-backed overlay, which limits.memory bounds.
      {{"destination", "/tmp"}, {"type", "tmpfs"}, {"source", "tmpfs"},
       {"options", {"nosuid", "nodev", "mode=1777", tmp_size}}},
  });
}

json bind_mount(const std::string& source, const std::string& target, bool readonly) {
  return {{"destination", target},
          {"type", "bind"},
          {"source", source},
          {"options", {"rbind", readonly ? "ro" : "rw", "nosuid", "nodev"}}};
}

std::string parent_of(const std::string& sandbox_path) {
  const auto slash = sandbox_path.find_last_of('/');
  return slash == 0 || slash == std::string::npos ? "/" : sandbox_path.substr(0, slash);
}

}  // namespace

std::string gvisor_cgroups_path(const std::string& run_id) { return "/gatebox/" + run_id; }

const std::vector<std::string>& default_masked_paths() {
  static const std::vector<std::string> paths = {
      "/proc/asound",       "/proc/acpi",        "/proc/kcore",       "/proc/keys",
      "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
      "/proc/scsi",         "/sys/firmware"};
  return paths;
}

const std::vector<std::string>& default_readonly_paths() {
  static const std::vector<std::string> paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                                 "/proc/sysrq-trigger"};
  return paths;
}

json render_oci_config(const BundleInput& in) {
  const Profile& p = in.profile;
  json env = json::array();
  for (const auto& [name, value] : p.run.env) env.push_back(name + "=" + value);

  json process = {
      {"terminal", false},
      {"user", {{"uid", p.run.uid}, {"gid", p.run.gid}}},
      {"args", p.run.argv},
      {"env", env},
      {"cwd", p.run.cwd},
      {"capabilities",
       {{"bounding", json::array()}, {"effective", json::array()}, {"inheritable", json::array()},
        {"permitted", json::array()}, {"ambient", json::array()}}},
      {"rlimits", json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", p.limits.open_files}, {"soft", p.limits.open_files}}})},
      {"noNewPrivileges", true},
  };

  json mounts = system_mounts(p);
  if (!in.etc_source.empty()) {
    for (const EtcFile& f : etc_files(p.run.hostname)) {
      mounts.push_back(bind_mount(in.etc_source + "/" + f.name, "/etc/" + f.name, true));
    }
  }
  if (!p.verdict.file.empty() && !in.verdict_source.empty()) {
    mounts.push_back(bind_mount(in.verdict_source, parent_of(p.verdict.file), false));
  }
  for (const ResolvedMount& m : in.mounts) mounts.push_back(bind_mount(m.source, m.target, m.readonly));

  constexpr std::uint64_t kRunscTaskHeadroom = 256;
  const auto quota = static_cast<std::int64_t>(std::llround(p.limits.cpus * static_cast<double>(kCpuPeriodUs)));
  json linux_section = {
      {"namespaces", json::array({{{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}},
                                  {{"type", "network"}}})},
      {"resources",
       {{"memory", {{"limit", p.limits.memory}, {"swap", p.limits.memory}}},
        // The host cgroup counts runsc's own tasks too (the sentry's and gofer's threads,
        // one ptrace stub per gate process): headroom for those, so that the gate itself
        // gets about limits.pids before its forks fail.
        {"pids", {{"limit", p.limits.pids + kRunscTaskHeadroom}}},
        {"cpu", {{"quota", quota}, {"period", kCpuPeriodUs}}}}},
      {"cgroupsPath", gvisor_cgroups_path(in.run_id)},
      {"maskedPaths", default_masked_paths()},
      {"readonlyPaths", default_readonly_paths()},
  };
  if (auto seccomp = render_oci_seccomp(in.seccomp)) {
    // runsc (2022) rejects SCMP_ACT_KILL_PROCESS as a default action; inside gVisor
    // SCMP_ACT_KILL ends the calling task with SIGSYS, which ends a single-threaded gate alike.
    if (seccomp->at("defaultAction") == "SCMP_ACT_KILL_PROCESS") (*seccomp)["defaultAction"] = "SCMP_ACT_KILL";
    // Nor does runsc know SCMP_ACT_LOG: it would refuse the whole profile, and the run. A
    // logged call is an allowed one, so action = "log" lets the calls through, unlogged (the
    // host kernel, whose log that is, never sees the calls of a gate under gVisor).
    if (seccomp->at("defaultAction") == "SCMP_ACT_LOG") (*seccomp)["defaultAction"] = "SCMP_ACT_ALLOW";
    // runsc (2022) answers every SCMP_ACT_ERRNO rule with EPERM, whatever its errnoRet. The
    // policy's clone3 -> ENOSYS exists so that libc falls back to clone, whose flags the
    // filter can see; given EPERM instead, glibc does not fall back and no thread can be
    // created. The Sentry has no clone3 of its own (ENOSYS), so clone3 is let through to
    // it: the same ENOSYS, and the same fallback, as on the other stacks (the
    // hostile-syscalls case checks that clone3 still answers ENOSYS under gVisor).
    for (json& entry : (*seccomp)["syscalls"]) {
      if (entry.value("names", json::array()) == json::array({"clone3"}) && entry.value("errnoRet", 0) == ENOSYS) {
        entry["action"] = "SCMP_ACT_ALLOW";
        entry.erase("errnoRet");
      }
    }
    linux_section["seccomp"] = std::move(*seccomp);
  }

  return {
      {"ociVersion", "1.0.2"},
      {"process", std::move(process)},
      {"root", {{"path", in.rootfs_dir.string()}, {"readonly", !in.overlay}}},
      {"hostname", p.run.hostname},
      {"mounts", std::move(mounts)},
      {"linux", std::move(linux_section)},
  };
}

void write_oci_config(const std::filesystem::path& dir, const json& config) {
  const std::string path = (dir / "config.json").string();
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) throw sys_error("open", path);
  const std::string text = config.dump();
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) throw sys_error("write", path);
}

}  // namespace gatebox
