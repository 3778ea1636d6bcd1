// The gvisor stack (docs/ARCHITECTURE.md §4.5): `runsc run` on an OCI bundle gatebox
// writes. The rootfs is the cached tree under a per-run host overlay (for what runsc's gofer
// creates) and runsc's memory-backed overlay (for what the gate writes);
// limits are runsc's cgroup (linux.resources) plus a sized /tmp tmpfs; seccomp is OCI
// linux.seccomp, which runsc enforces inside the sandbox only with --oci-seccomp.
#include "stack/gvisor/gvisor_stack.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <mutex>

#include "log/console.hpp"
#include "policy/mounts.hpp"
#include "stack/etc_files.hpp"
#include "stack/gvisor/gvisor_cgroups.hpp"
#include "stack/gvisor/gvisor_supervisor.hpp"
#include "stack/gvisor/oci_bundle.hpp"
#include "stack/gvisor/runsc_features.hpp"
#include "stack/gvisor/runsc_process.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"
#include "util/kvm.hpp"
#include "util/process.hpp"
#include "util/sha256.hpp"
#include "rootfs/rootfs.hpp"
#include <nlohmann/json.hpp>

namespace gatebox {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kVerdictMax = 64 * 1024;

// Asked once per binary and process: runsc takes ~20 ms to print its help.
const RunscFeatures& runsc_features(const std::string& binary) {
  static std::mutex mu;
  static std::map<std::string, RunscFeatures> known;
  std::lock_guard lock(mu);
  auto it = known.find(binary);
  if (it != known.end()) return it->second;
  // Asking runsc costs two starts of a Go binary (about 60 ms): the answer is kept on disk
  // per runsc binary (path, inode, size, mtime), so a new runsc version is asked again.
  struct stat st{};
  const bool stat_ok = ::stat(binary.c_str(), &st) == 0;
  const std::string key = fmt::format("{}:{}:{}:{}.{}", binary, st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  const fs::path cached = default_cache_dir() / "runsc-features" / (sha256_hex(key) + ".json");
  if (stat_ok) {
    try {
      std::ifstream in(cached);
      nlohmann::json j = nlohmann::json::parse(in);
      RunscFeatures f;
      f.version = j.at("version").get<std::string>();
      f.platforms = j.at("platforms").get<std::vector<std::string>>();
      f.oci_seccomp = j.at("oci_seccomp").get<bool>();
      f.overlay2 = j.at("overlay2").get<bool>();
      f.overlay = j.at("overlay").get<bool>();
      f.ignore_cgroups = j.at("ignore_cgroups").get<bool>();
      f.rootless = j.at("rootless").get<bool>();
      return known.emplace(binary, std::move(f)).first->second;
    } catch (const std::exception&) {
      // Not there yet, or unreadable: ask runsc.
    }
  }
  RunscCommand cmd{binary, {}};
  RunscFeatures f = parse_runsc_flags(run_runsc_command(cmd, {"flags"}).output);
  f.version = parse_runsc_version(run_runsc_command(cmd, {"--version"}).output);
  if (stat_ok && !f.version.empty()) {
    try {
      make_dirs(cached.parent_path());
      const nlohmann::json j = {{"version", f.version},   {"platforms", f.platforms}, {"oci_seccomp", f.oci_seccomp},
                                {"overlay2", f.overlay2}, {"overlay", f.overlay},     {"ignore_cgroups", f.ignore_cgroups},
                                {"rootless", f.rootless}};
      const std::string tmp = fmt::format("{}.{}.tmp", cached.string(), ::getpid());
      std::ofstream(tmp) << j.dump();
      fs::rename(tmp, cached);
    } catch (const std::exception&) {
      // Best effort: the next run asks runsc again.
    }
  }
  return known.emplace(binary, std::move(f)).first->second;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string seccomp_detail(const RunscFeatures& f) {
  return f.oci_seccomp ? "enforced inside the sandbox (--oci-seccomp)"
                       : "NOT enforced inside the sandbox: this runsc has no --oci-seccomp (only gVisor's own host filter applies)";
}

// <cache>/run/gvisor-<run_id>/{bundle,state,runsc.log,verdict}: everything of one run, removed
// by the destructor (the verdict tmpfs is unmounted first).
class GvisorRunDir {
 public:
  // Absolute: runsc resolves relative paths against the bundle, not our working directory.
  GvisorRunDir(const fs::path& cache_dir, const std::string& run_id)
      : dir_(fs::absolute(cache_dir) / "run" / ("gvisor-" + run_id)) {
    make_dirs(cache_dir / "run", 0755);
    if (::mkdir(dir_.c_str(), 0700) != 0) throw sys_error("mkdir", dir_.string());
    make_dirs(bundle(), 0700);
    make_dirs(state(), 0700);
  }
  ~GvisorRunDir() {
    if (verdict_mounted_) ::umount2(verdict().c_str(), MNT_DETACH);
    if (root_mounted_) ::umount2(root().c_str(), MNT_DETACH);
    if (scratch_mounted_) ::umount2(scratch().c_str(), MNT_DETACH);
    try {
      remove_tree(dir_);
    } catch (const Error& e) {
      Console::get().warn(fmt::format("could not remove {}: {}", dir_.string(), e.what()));
    }
  }
  GvisorRunDir(const GvisorRunDir&) = delete;
  GvisorRunDir& operator=(const GvisorRunDir&) = delete;

  fs::path bundle() const { return dir_ / "bundle"; }
  fs::path state() const { return dir_ / "state"; }
  fs::path log() const { return dir_ / "runsc.log"; }
  fs::path verdict() const { return dir_ / "verdict"; }
  fs::path scratch() const { return dir_ / "scratch"; }

  // The sandbox's files of /etc (etc_files()), in a directory of this run dir whose files
  // are bound read-only. Returns the directory.
  fs::path write_etc_files(const std::string& hostname) {
    const fs::path etc = dir_ / "etc";
    make_dirs(etc, 0755);
    for (const EtcFile& f : etc_files(hostname)) {
      const fs::path file = etc / f.name;
      Fd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
      if (!fd) throw sys_error("create", file.string());
      write_all(fd.get(), f.text.data(), f.text.size(), file);
      if (::fchmod(fd.get(), 0644) != 0) throw sys_error("chmod", file.string());
    }
    return etc;
  }
  fs::path root() const { return dir_ / "root"; }

  // runsc's gofer makes, on the host, the mount points and run.cwd that the image lacks, in
  // the root it is given (runsc's own memory overlay sits above the gofer, not below it).
  // Given the cached tree, it would change the tree every stack shares. So it gets an
  // overlay of the tree whose upper layer is a small tmpfs of this run: what runsc makes
  // lives and dies with the run. Returns the overlay's mount point.
  fs::path mount_root_overlay(const fs::path& tree) {
    make_dirs(scratch(), 0700);
    if (::mount("tmpfs", scratch().c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,nr_inodes=4096,mode=0700") != 0) {
      throw sys_error("mount tmpfs", scratch().string());
    }
    scratch_mounted_ = true;
    // The overlay's root takes its owner and mode from the upper directory: the tree's own
    // (0555 for an image's root), or a gate running as uid 0 could write into / where the
    // tree does not let it.
    struct stat tree_root{};
    if (::stat(tree.c_str(), &tree_root) != 0) throw sys_error("stat", tree.string());
    const fs::path upper = scratch() / "upper";
    make_dirs(upper, 0700);
    if (::chown(upper.c_str(), tree_root.st_uid, tree_root.st_gid) != 0 ||
        ::chmod(upper.c_str(), tree_root.st_mode & 07777) != 0) {
      throw sys_error("chmod", upper.string());
    }
    const fs::path work = scratch() / "work";
    make_dirs(work, 0700);
    make_dirs(root(), 0755);
    const std::string options = overlay_options(tree.string(), upper.string(), work.string());
    if (::mount("overlay", root().c_str(), "overlay", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
      throw sys_error("mount overlay", root().string());
    }
    root_mounted_ = true;
    return root();
  }

  // A small host tmpfs bound at the verdict file's folder: the file outlives the sandbox,
  // and a gate cannot fill the host's disk through it.
  void mount_verdict_dir(std::uint32_t uid, std::uint32_t gid) {
    make_dirs(verdict(), 0700);
    const std::string opts = fmt::format("size=1m,nr_inodes=64,mode=0700,uid={},gid={}", uid, gid);
    if (::mount("tmpfs", verdict().c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts.c_str()) != 0) {
      throw sys_error("mount tmpfs", verdict().string());
    }
    verdict_mounted_ = true;
  }

 private:
  fs::path dir_;
  bool verdict_mounted_ = false;
  bool scratch_mounted_ = false;
  bool root_mounted_ = false;
};

// The verdict file without following a symlink the gate may have put in its place.
std::optional<std::string> read_verdict(const fs::path& dir, const std::string& sandbox_path) {
  const std::string name = fs::path(sandbox_path).filename().string();
  Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d) return std::nullopt;
  Fd f(::openat(d.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!f) return errno == ENOENT ? std::nullopt : std::optional<std::string>(std::string(kUnsafeVerdictFile) + ")");
  struct stat st{};
  if (::fstat(f.get(), &st) != 0 || !S_ISREG(st.st_mode) || static_cast<std::size_t>(st.st_size) > kVerdictMax) {
    return std::string(kUnsafeVerdictFile) + ")";
  }
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  const ssize_t r = ::read(f.get(), text.data(), text.size());
  text.resize(r > 0 ? static_cast<std::size_t>(r) : 0);
  return text;
}


class GvisorStack final : public Stack {
 public:
  std::string_view name() const override { return "gvisor"; }

  Availability probe_host() const override { return probe("runsc", ProbeMode::run_tools); }
  Availability probe_for(const Profile& profile, ProbeMode mode) const override {
    return probe(profile.stack.gvisor.runsc, mode);
  }

  // `runsc` is stack.gvisor.runsc (the operator's): a path, or a name looked up on PATH.
  // Without run_tools, runsc is not asked what it can do: the details say what would be run.
  Availability probe(const std::string& runsc, ProbeMode mode) const {
    Availability a;
    const std::string binary = find_executable(runsc.empty() ? "runsc" : runsc);
    if (binary.empty()) {
      a.reason = "runsc is not installed (apt-get install runsc, or name it with --set stack.gvisor.runsc=...)";
      return a;
    }
    if (mode == ProbeMode::run_nothing) {
      a.details.emplace_back("runsc", binary);
      a.details.emplace_back("version", fmt::format("not asked: --dry-run runs nothing (a run asks `{} --version` and `{} flags`)", binary, binary));
      a.available = ::geteuid() == 0;
      if (!a.available) a.reason = "runsc needs root here: it makes the sandbox's namespaces, chroot and cgroups";
      return a;
    }
    const RunscFeatures& f = runsc_features(binary);
    const KvmStatus kvm_state = kvm_status();
    const bool kvm = kvm_state.usable;
    a.details.emplace_back("runsc", binary);
    a.details.emplace_back("version", f.version.empty() ? "unknown" : f.version);
    a.details.emplace_back("platforms", f.platforms.empty() ? "unknown" : join(f.platforms));
    a.details.emplace_back("kvm", kvm ? "usable" : kvm_state.detail);
    const std::string platform = choose_platform("auto", kvm, f);
    a.details.emplace_back("platform (auto)", platform);
    a.details.emplace_back("seccomp", seccomp_detail(f));
    a.details.emplace_back("overlay", f.overlay2 ? "--overlay2=root:memory (bounded by limits.memory)"
                                                 : f.overlay ? "--overlay (bounded by limits.memory)" : "none");
    a.details.emplace_back("network", "--network=none: gVisor's own netstack with loopback only");
    if (::geteuid() != 0) {
      a.reason = "runsc needs root here: it makes the sandbox's namespaces, chroot and cgroups "
                 "(its --rootless and --TESTONLY-unsafe-nonroot modes drop that isolation, gatebox does not use them)";
      return a;
    }
    if (platform == "ptrace" && read_first_line("/proc/sys/kernel/yama/ptrace_scope") == "3") {
      a.reason = "Yama's ptrace_scope is 3 (ptrace disabled), which blocks runsc's ptrace platform, and there is no usable /dev/kvm";
      return a;
    }
    a.available = true;
    return a;
  }

  std::string describe(const RunRequest& request) const override {
    const BundleInput bundle{request.profile, "<run dir>/root",
                             request.seccomp, request.mounts,
                             request.run_id, request.profile.verdict.file.empty() ? "" : "<run dir>/verdict", true,
                             "<run dir>/etc"};
    return fmt::format("runsc --platform={} --network=none --overlay2=root:memory run --bundle <run dir>/bundle {}\n"
                       "config.json:\n{}",
                       request.profile.stack.gvisor.platform, request.run_id, render_oci_config(bundle).dump(2));
  }

  RunOutcome run(const RunRequest& request) override {
    const Clock::time_point t_begin = Clock::now();
    const Profile& profile = request.profile;
    const std::string binary = find_executable(profile.stack.gvisor.runsc);
    if (binary.empty()) {
      throw make_error(ExitCode::unavailable, "stack.gvisor.runsc: '{}' is not an executable on PATH (apt-get install runsc)",
                       profile.stack.gvisor.runsc);
    }
    const RunscFeatures& features = runsc_features(binary);
    const KvmStatus kvm = kvm_status();
    const std::string platform = choose_platform(profile.stack.gvisor.platform, kvm.usable, features);
    if (platform == "kvm" && !kvm.usable) {
      throw make_error(ExitCode::unavailable, "stack.gvisor.platform = \"kvm\": {}; use \"auto\" or \"ptrace\"",
                       kvm.detail);
    }
    if (!features.platforms.empty() && !features.has_platform(platform)) {
      throw make_error(ExitCode::unavailable, "stack.gvisor.platform = \"{}\": {} {} has only {}", platform, binary,
                       features.version, join(features.platforms));
    }
    if (!request.seccomp.unconfined && !features.oci_seccomp) {
      // Never a weaker sandbox than the profile asked for, silently or with a warning.
      throw make_error(ExitCode::unavailable,
                       "{} has no --oci-seccomp, so the profile's seccomp policy cannot be enforced inside the "
                       "sandbox; install a runsc that has it, or run with seccomp.profile = \"unconfined\"",
                       binary);
    }

    // runsc binds a read-only source with "rbind,ro"; whether its gofer also refuses writes
    // into host mounts below the source is not something gatebox can check for every runsc
    // version, so it is refused as on the docker stack.
    refuse_readonly_submounts(request.mounts, "gvisor", read_file("/proc/self/mountinfo").value_or(""));
    std::optional<GvisorRunDir> run_dir;
    run_dir.emplace(request.cache_dir, request.run_id);
    GvisorRunDir& dir = *run_dir;
    std::string verdict_source;
    if (!profile.verdict.file.empty()) {
      dir.mount_verdict_dir(profile.run.uid, profile.run.gid);
      verdict_source = dir.verdict().string();
    }
    const fs::path root = dir.mount_root_overlay(fs::absolute(request.rootfs.dir));
    const fs::path etc = dir.write_etc_files(profile.run.hostname);
    const BundleInput bundle{profile, root, request.seccomp, request.mounts, request.run_id, verdict_source,
                             features.overlay2 || features.overlay, etc.string()};
    write_oci_config(dir.bundle(), render_oci_config(bundle));

    RunscCommand cmd{binary,
                     {"--root=" + dir.state().string(), "--log=" + dir.log().string(), "--log-format=json",
                      "--platform=" + platform, "--network=none"}};
    if (features.overlay2) {
      cmd.global.push_back("--overlay2=root:memory");
    } else if (features.overlay) {
      cmd.global.push_back("--overlay");
    }
    if (features.oci_seccomp && !request.seccomp.unconfined) cmd.global.push_back("--oci-seccomp");

    const std::string cgroup_rel = gvisor_cgroups_path(request.run_id);
    const std::vector<CgroupMount> mounts = cgroup_mounts();
    Pipe out = make_pipe(O_NONBLOCK), err = make_pipe(O_NONBLOCK);
    // The gate's ends must block: a gate writing faster than we read simply waits.
    ::fcntl(out.write.get(), F_SETFL, 0);
    ::fcntl(err.write.get(), F_SETFL, 0);

    // The memory cgroup is made before runsc starts, so the OOM watch is in place before
    // the gate can allocate, and runsc (which removes only cgroups it created) leaves the
    // counter for us to read after it exits. The guard below removes it.
    // runsc does not apply limits to a cgroup it did not create, so the memory limit is set here.
    for (const CgroupMount& m : mounts) {
      if (!m.memory) continue;
      const fs::path cg = m.dir / fs::path(cgroup_rel).relative_path();
      std::error_code ec;
      fs::create_directories(cg, ec);
      const std::string limit = std::to_string(profile.limits.memory);
      static const std::vector<std::string> v1_files = {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes"};
      static const std::vector<std::string> v2_files = {"memory.max"};
      for (const std::string& file : m.v2 ? v2_files : v1_files) {
        Fd f(::open((cg / file).c_str(), O_WRONLY | O_CLOEXEC));
        if (f && ::write(f.get(), limit.data(), limit.size()) < 0 && file != "memory.memsw.limit_in_bytes") {
          throw sys_error("write", (cg / file).string());
        }
      }
      if (m.v2) {
        Fd f(::open((cg / "memory.swap.max").c_str(), O_WRONLY | O_CLOEXEC));
        if (f) (void)!::write(f.get(), "0", 1);
      }
    }
    struct CgroupGuard {
      const std::vector<CgroupMount>& mounts;
      const std::string& rel;
      ~CgroupGuard() { remove_cgroup_everywhere(mounts, rel); }
    } cgroup_guard{mounts, cgroup_rel};
    OomWatch early_oom = OomWatch::open(mounts, cgroup_rel);

    RunOutcome outcome;
    Clock::time_point t_end;
    {
      // runsc resolves the paths itself: the last moment to see they are still what was checked.
      for (const ResolvedMount& m : request.mounts) check_source_unchanged(m);
      RunscProcess runsc = RunscProcess::start(cmd, {"run", "--bundle", dir.bundle().string(), request.run_id},
                                               out.write.get(), err.write.get());
      out.write.reset();
      err.write.reset();
      // Whatever happens below, the container and its cgroup go before the run dir does.
      struct ContainerGuard {
        const RunscCommand& cmd;
        const std::string& id;
        const std::vector<CgroupMount>& mounts;
        const std::string& cgroup_rel;
        const fs::path state;
        ~ContainerGuard() {
          std::error_code ec;
          if (!fs::is_empty(state, ec) && !ec) run_runsc_command(cmd, {"delete", "--force", id});
          remove_cgroup_everywhere(mounts, cgroup_rel);
        }
      } guard{cmd, request.run_id, mounts, cgroup_rel, dir.state()};

      auto kill_container = [&] {
        run_runsc_command(cmd, {"kill", request.run_id, "KILL"}, std::chrono::seconds(5));
        run_runsc_command(cmd, {"delete", "--force", request.run_id}, std::chrono::seconds(10));
        runsc.kill_group();
      };
      auto open_oom = [&] { return early_oom.fd() >= 0 ? std::move(early_oom) : OomWatch::open(mounts, cgroup_rel); };
      RunscRunIo io{out.read.get(), err.read.get(), dir.state(), dir.log()};
      outcome = supervise_runsc(runsc, io, open_oom, request, t_begin, kill_container);
      t_end = Clock::now();
      if (!profile.verdict.file.empty() && !outcome.timed_out && !outcome.interrupted) {
        outcome.verdict_file = read_verdict(dir.verdict(), profile.verdict.file);
      }
    }
    run_dir.reset();
    outcome.timings.teardown_ms = std::chrono::duration<double, std::milli>(Clock::now() - t_end).count();
    return outcome;
  }

  std::vector<std::string> sweep(const fs::path& cache_dir) override {
    std::vector<std::string> removed;
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(cache_dir / "run", ec)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("gvisor-", 0) != 0) continue;
      const pid_t owner = static_cast<pid_t>(std::strtol(name.c_str() + 7, nullptr, 10));
      if (owner <= 0 || process_alive(owner)) continue;
      const std::string binary = find_executable("runsc");
      if (!binary.empty()) {
        RunscCommand cmd{binary, {"--root=" + (e.path() / "state").string()}};
        const std::string id = name.substr(7);
        run_runsc_command(cmd, {"kill", id, "KILL"}, std::chrono::seconds(5));
        if (run_runsc_command(cmd, {"delete", "--force", id}).exit_code == 0) removed.push_back("runsc container " + id);
      }
      for (const char* m : {"verdict", "root", "scratch"}) ::umount2((e.path() / m).c_str(), MNT_DETACH);
      try {
        remove_tree(e.path());
        removed.push_back("run dir " + e.path().string());
      } catch (const Error& err) {
        Console::get().warn(fmt::format("could not remove {}: {}", e.path().string(), err.what()));
      }
    }
    if (::geteuid() == 0) {
      for (std::string& line : sweep_dead_gatebox_cgroups(cgroup_mounts())) removed.push_back(std::move(line));
    }
    return removed;
  }
};

}  // namespace

std::unique_ptr<Stack> make_gvisor_stack() { return std::make_unique<GvisorStack>(); }

}  // namespace gatebox
