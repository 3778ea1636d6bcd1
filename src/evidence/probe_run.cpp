#include "evidence/probe_run.hpp"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>

#include <fmt/format.h>

#include "policy/mounts.hpp"
#include "policy/seccomp.hpp"
#include "rootfs/rootfs.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"
#include "util/sha256.hpp"

namespace gatebox {
namespace {

namespace fs = std::filesystem;

std::string read_all(int fd) {
  std::string out;
  ::lseek(fd, 0, SEEK_SET);
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

Fd make_memfd(const char* name) {
  Fd fd(::memfd_create(name, MFD_CLOEXEC));
  if (!fd) throw sys_error("memfd_create", name, errno);
  return fd;
}

Profile probe_profile(const Stack& stack, const std::string& policy, const fs::path& root, const fs::path& cache_dir) {
  Profile p;
  p.file = "gatebox-probe";
  p.base_dir = cache_dir;
  p.name = "gatebox-probe";
  p.description = "kernel-feature probe (gatebox probe)";
  p.stack.kind = std::string(stack.name());
  p.rootfs.dir = root;
  p.run.argv = {"/probe"};
  p.run.env = {{"PATH", "/"}};
  // Root, so that features gated on privilege show what the stack itself permits.
  p.run.uid = 0;
  p.run.gid = 0;
  p.limits.timeout = std::chrono::seconds(120);
  p.limits.memory = 256ULL << 20;
  p.limits.pids = 256;
  p.network.mode = NetworkMode::none;
  p.seccomp.profile = policy;
  return p;
}

std::string last_line(const std::string& text) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  const std::size_t nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

}  // namespace

fs::path find_probe_binary() {
  if (const char* env = std::getenv("GATEBOX_PROBE"); env && *env) {
    if (::access(env, X_OK) != 0) throw make_error(ExitCode::internal, "GATEBOX_PROBE={}: not an executable file", env);
    return env;
  }
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  std::vector<fs::path> candidates;
  if (!ec) {
    candidates.push_back(exe.parent_path() / "gatebox-probe");
    candidates.push_back(exe.parent_path().parent_path() / "lib" / "gatebox" / "gatebox-probe");
  }
  for (const fs::path& c : candidates) {
    if (::access(c.c_str(), X_OK) == 0) return c;
  }
  std::string looked;
  for (const fs::path& c : candidates) looked += (looked.empty() ? "" : ", ") + c.string();
  throw make_error(ExitCode::internal,
                   "the probe program gatebox-probe was not found (looked at {}); build it (cmake --build BUILD "
                   "--target gatebox-probe) or set GATEBOX_PROBE",
                   looked);
}

fs::path prepare_probe_root(const fs::path& cache_dir, const fs::path& probe) {
  const std::string digest = sha256_file(probe);
  const fs::path parent = cache_dir / "evidence";
  const fs::path root = parent / ("probe-" + digest.substr(0, 16));
  if (fs::exists(root / "probe-suid")) return root;
  make_dirs(parent, 0755);
  TempDir tmp(parent, "probe-tmp-");
  const fs::path dir = tmp.path();
  for (const char* d : {"dev", "proc", "sys", "tmp", "etc", "var", "var/tmp"}) make_dirs(dir / d, 0755);
  ::chmod((dir / "tmp").c_str(), 01777);
  ::chmod((dir / "var/tmp").c_str(), 01777);
  ::chmod(dir.c_str(), 0755);
  for (const char* name : {"probe", "probe-suid"}) {
    std::error_code ec;
    fs::copy_file(probe, dir / name, fs::copy_options::overwrite_existing, ec);
    if (ec) throw make_error(ExitCode::internal, "copying {} to {}: {}", probe.string(), (dir / name).string(), ec.message());
  }
  if (::chmod((dir / "probe").c_str(), 0755) != 0) throw sys_error("chmod", (dir / "probe").string(), errno);
  // Owned by root when gatebox runs as root; otherwise the probe reports that the copy is
  // not set-uid root, which is the truth for an unprivileged gatebox too.
  if (::chmod((dir / "probe-suid").c_str(), 04755) != 0) throw sys_error("chmod", (dir / "probe-suid").string(), errno);
  std::error_code ec;
  fs::rename(dir, root, ec);
  if (ec && !fs::exists(root / "probe-suid")) {
    throw make_error(ExitCode::internal, "renaming {} to {}: {}", dir.string(), root.string(), ec.message());
  }
  if (!ec) tmp.release();
  return root;
}

ProbeColumn run_probe_column(Stack& stack, const std::string& policy, const fs::path& root, const fs::path& cache_dir) {
  ProbeColumn column;
  column.stack = std::string(stack.name());
  column.policy = policy;
  try {
    const Profile profile = probe_profile(stack, policy, root, cache_dir);
    const RootfsTree rootfs = prepare_rootfs(profile, cache_dir);
    const SeccompPolicy seccomp = resolve_seccomp(profile.seccomp);
    const std::vector<ResolvedMount> mounts = resolve_mounts(profile);
    Fd out = make_memfd("gatebox-probe-stdout");
    Fd err = make_memfd("gatebox-probe-stderr");
    LogSink logs(LogSink::Options{LogFormat::plain, 1ULL << 20, "", out.get(), err.get()});
    RunRequest request{profile, rootfs, seccomp, mounts, logs, cache_dir, make_run_id()};
    const RunOutcome outcome = stack.run(request);
    logs.finish();
    if (outcome.interrupted) {
      throw Error(outcome.interrupt_signal == SIGINT ? ExitCode::sigint : ExitCode::sigterm, "interrupted");
    }
    const std::string stdout_text = read_all(out.get());
    const std::string stderr_text = read_all(err.get());
    std::string failure;
    if (outcome.stack_error) failure = "the stack failed: " + *outcome.stack_error;
    else if (outcome.exec_error) failure = "the probe could not start: " + *outcome.exec_error;
    else if (outcome.timed_out) failure = "the probe did not finish within 120 s";
    else if (outcome.signal) failure = fmt::format("the probe died of signal {}", *outcome.signal);
    else if (outcome.exit_code.value_or(-1) != 0) failure = fmt::format("the probe exited with {}", outcome.exit_code.value_or(-1));
    if (failure.empty()) {
      if (std::optional<std::string> bad = parse_probe_output(stdout_text, column)) failure = *bad;
    }
    if (!failure.empty()) {
      const std::string tail = last_line(stderr_text);
      column.reason = tail.empty() ? failure : failure + " (stderr: " + tail + ")";
      column.cells.clear();
      return column;
    }
    column.ran = true;
  } catch (const Error& e) {
    if (e.code() == ExitCode::sigint || e.code() == ExitCode::sigterm) throw;
    column.reason = e.what();
  }
  return column;
}

}  // namespace gatebox
