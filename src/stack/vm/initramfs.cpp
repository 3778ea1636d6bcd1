// The guest's root file system. The base image (rootfs tree + agent) is large and the
// same for every run of a profile, so it is built once and cached; what differs per run
// (the job, the mounts) goes into a small cpio appended to a copy of it. The kernel unpacks
// concatenated archives in order. Neither is compressed: under TCG the guest decompresses
// far slower than the host copies (initramfs_key.cpp, kBaseFormat).
#include "stack/vm/initramfs.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "log/console.hpp"
#include "policy/mounts.hpp"
#include "rootfs/cache_layout.hpp"
#include "rootfs/tree_identity.hpp"
#include "stack/vm/cpio_writer.hpp"
#include "stack/vm/file_digest.hpp"
#include "stack/vm/initramfs_detail.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/fd.hpp"
#include "util/sha256.hpp"

namespace gatebox::vm {
namespace fs = std::filesystem;
namespace {

// The whole guest lives in RAM: a rootfs this big is better served by another stack.
constexpr std::uint64_t kMaxBaseBytes = 2ull << 30;
constexpr std::uint64_t kMaxMountBytes = 1ull << 30;
// Below this, building takes well under a second: no progress line.
constexpr std::uint64_t kAnnounceBytes = 32ull << 20;

// Removes a file being written unless it was committed.
struct PendingFile {
  fs::path path;
  Fd fd;
  bool committed = false;
  explicit PendingFile(fs::path p, mode_t mode) : path(std::move(p)) {
    fd.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
    if (!fd) throw sys_error("open", path.string());
  }
  ~PendingFile() {
    if (!committed) ::unlink(path.c_str());
  }
};

fs::path ram_record_path(const fs::path& base) {
  fs::path p = base;
  p += kRamRecordSuffix;
  return p;
}

void write_ram_record(const fs::path& base, std::uint64_t bytes) {
  const fs::path record = ram_record_path(base);
  fs::path tmp_path = record;
  tmp_path += fmt::format(".tmp-{}", ::getpid());
  PendingFile tmp(tmp_path, 0644);
  const std::string text = std::to_string(bytes) + "\n";
  write_all(tmp.fd.get(), text.data(), text.size(), tmp_path);
  if (::rename(tmp.path.c_str(), record.c_str()) != 0) throw sys_error("rename", record.string());
  tmp.committed = true;
}

Fd open_dir(const fs::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw sys_error("open", dir.string());
  return fd;
}


// Copies all of `in` to `out` at their current offsets; copy_file_range shares extents
// where the file system can (reflinks), and falls back to read/write across file systems.
void copy_whole(int in, int out, const fs::path& in_shown, const fs::path& out_shown) {
  bool plain = false;
  while (!plain) {
    ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, 1 << 30, 0);
    if (n == 0) return;
    if (n > 0) continue;
    if (errno == EINTR) continue;
    if (errno != EXDEV && errno != ENOSYS && errno != EOPNOTSUPP && errno != EINVAL) {
      throw sys_error("copy_file_range", out_shown.string());
    }
    plain = true;
  }
  std::vector<char> buf(1 << 20);
  for (;;) {
    ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw sys_error("read", in_shown.string());
    if (n == 0) return;
    write_all(out, buf.data(), static_cast<std::size_t>(n), out_shown);
  }
}

std::string mount_label(const ResolvedMount& m) { return fmt::format("mount {} → {}", m.source, m.target); }

bool under_agent_dir(std::string_view target) {
  return target == kAgentDir || (target.size() > kAgentDir.size() && target.substr(0, kAgentDir.size()) == kAgentDir &&
                                 target[kAgentDir.size()] == '/');
}

void add_mount(CpioWriter& w, const ResolvedMount& m, TreeBudget& budget) {
  if (!m.readonly) {
    throw make_error(ExitCode::bad_input,
                     "{}: the VM stacks cannot share a writable host directory; make the mount read-only, or use "
                     "the native, docker or gvisor stack", mount_label(m));
  }
  if (m.target.size() < 2 || m.target.front() != '/') {
    throw make_error(ExitCode::bad_input, "{}: the VM stacks cannot mount over the guest's root", mount_label(m));
  }
  if (under_agent_dir(m.target)) {
    throw make_error(ExitCode::bad_input, "{}: {} is reserved for gatebox's guest agent", mount_label(m), kAgentDir);
  }
  budget.too_big = [label = mount_label(m)] {
    return make_error(ExitCode::bad_input,
                      "{}: the read-only mounts hold more than 1 GiB of files; the VM stacks copy them into the "
                      "guest's RAM, so mount less or use the native, docker or gvisor stack", label);
  };
  // The file checked against the policy, not whatever its path leads to now. The walk below
  // follows no symlink (openat O_NOFOLLOW) and copies host mounts below the source as a
  // recursive bind would show them: read-only in the guest like the rest.
  Fd fd = open_checked_source(m, O_RDONLY | O_NOCTTY | O_NONBLOCK | (m.is_dir ? O_DIRECTORY : 0));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw sys_error("fstat", m.source);
  std::string rel = m.target.substr(1);
  w.parents(rel);
  if (S_ISDIR(st.st_mode)) {
    w.directory(rel, {static_cast<mode_t>(st.st_mode & 07777), st.st_uid, st.st_gid, st.st_mtim.tv_sec});
    w.add_tree(fd.get(), rel, m.source, budget);
  } else if (S_ISREG(st.st_mode)) {
    w.add_file(fd.get(), st, rel, m.source, budget);
  } else {
    throw make_error(ExitCode::bad_input, "{}: only directories and regular files can be copied into the guest",
                     mount_label(m));
  }
}

}  // namespace

fs::path find_agent() {
  if (const char* env = std::getenv("GATEBOX_AGENT"); env != nullptr && *env != '\0') {
    struct stat st {};
    if (::stat(env, &st) != 0 || !S_ISREG(st.st_mode) || ::access(env, R_OK) != 0) {
      throw make_error(ExitCode::unavailable, "the guest agent GATEBOX_AGENT={} is not a readable file; fix or unset "
                       "GATEBOX_AGENT", env);
    }
    return env;
  }
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  std::vector<fs::path> places;
  if (!ec) {
    places.push_back(exe.parent_path() / "gatebox-init");
    places.push_back(exe.parent_path().parent_path() / "lib" / "gatebox" / "gatebox-init");
  }
  for (const fs::path& p : places) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), R_OK) == 0) return p;
  }
  std::string looked;
  for (const fs::path& p : places) looked += (looked.empty() ? "" : ", ") + p.string();
  throw make_error(ExitCode::unavailable,
                   "the guest agent gatebox-init was not found (looked at {}; GATEBOX_AGENT is not set): build it "
                   "(cmake --build <build dir> --target gatebox-init), install gatebox, or set GATEBOX_AGENT",
                   looked.empty() ? "nothing: /proc/self/exe is unreadable" : looked);
}

fs::path base_initramfs(const RootfsTree& tree, const fs::path& agent, const fs::path& cache_dir) {
  Fd agent_fd = open_regular_file(agent, "the guest agent", ExitCode::unavailable);
  struct stat agent_st {};
  if (::fstat(agent_fd.get(), &agent_st) != 0) throw sys_error("fstat", agent.string(), errno, ExitCode::unavailable);
  std::string agent_sha = remembered_sha256(agent_fd.get(), agent, cache_dir);
  std::optional<TreeScan> scan;
  std::string rootfs_id = tree.sha256;
  if (rootfs_id.empty()) {
    // A `dir` rootfs has no image digest: its listing stands in for one (rootfs_identity).
    scan = scan_rootfs_tree(tree.dir);
    rootfs_id = "dir-" + scan->digest;
  }
  fs::path dir = vm_cache_dir(cache_dir);
  fs::path out = dir / base_initramfs_name(rootfs_id, base_key(rootfs_id, agent_sha));
  if (::access(out.c_str(), F_OK) == 0) return out;  // only ever appears by rename: complete

  fs::path lock_path = dir / "initramfs.lock";
  Fd lock = open_lock_file(lock_path);
  wait_for_lock(lock.get(), LOCK_EX, lock_path);
  if (::access(out.c_str(), F_OK) == 0) return out;  // built by a concurrent run meanwhile
  sweep_stale_temp_files(dir);

  if (!scan) scan = scan_rootfs_tree(tree.dir);
  if (scan->bytes > kMaxBaseBytes) {
    throw make_error(ExitCode::bad_input,
                     "the rootfs {} holds {} MiB of files; the VM stacks load it into the guest's RAM, which "
                     "gatebox limits to {} MiB: use a smaller image or the native, docker or gvisor stack",
                     tree.dir.string(), scan->bytes >> 20, kMaxBaseBytes >> 20);
  }
  if (scan->bytes >= kAnnounceBytes && ::isatty(2) == 1) {
    Console::get().info(fmt::format("building the guest's initramfs ({} MiB)…", scan->bytes >> 20));
  }
  fs::path tmp_path = out;
  tmp_path += fmt::format(".tmp-{}", ::getpid());
  PendingFile tmp(tmp_path, 0600);
  {
    CpioWriter w(tmp.fd.get(), CpioWriter::Compression::none, tmp.path.string());
    TreeBudget budget{kMaxBaseBytes, 0, [&] {
                        return make_error(ExitCode::bad_input, "the rootfs {} grew past {} MiB while being copied",
                                          tree.dir.string(), kMaxBaseBytes >> 20);
                      }};
    Fd root = open_dir(tree.dir);
    // Without an entry for "." the guest's / keeps the kernel's rootfs mode, 1777: anyone
    // could create files at the top. The cache takes write permission off its trees' tops,
    // so the owner's is given back.
    struct stat root_st {};
    if (::fstat(root.get(), &root_st) != 0) throw sys_error("fstat", tree.dir.string());
    w.directory(".", {static_cast<mode_t>((root_st.st_mode & 07777) | 0200), root_st.st_uid, root_st.st_gid,
                      root_st.st_mtim.tv_sec});
    // The image's own /.gatebox (if any) is left out: the agent and the job's secret must
    // land in a directory gatebox made, not through a symlink the image planted.
    w.add_tree(root.get(), "", tree.dir.string(), budget, {std::string(kAgentDir.substr(1))});
    std::string agent_dir(kAgentDir.substr(1));
    w.directory(agent_dir, {0700, 0, 0, agent_st.st_mtim.tv_sec});
    struct stat st = agent_st;
    st.st_mode = S_IFREG | 0700;
    st.st_uid = 0;
    st.st_gid = 0;
    TreeBudget agent_budget{std::uint64_t(1) << 30, 0, [] { return Error(ExitCode::unavailable, "the guest agent is over 1 GiB"); }};
    w.add_file(agent_fd.get(), st, std::string(kAgentPath.substr(1)), agent.string(), agent_budget);
    w.finish();
  }
  // The record goes first: once the image is there under its name, so is its record.
  constexpr std::uint64_t kPage = 4096;
  const std::uint64_t ram = scan->bytes + (scan->entries + 2) * kPage + static_cast<std::uint64_t>(agent_st.st_size);
  write_ram_record(out, ram);
  if (::rename(tmp.path.c_str(), out.c_str()) != 0) throw sys_error("rename", out.string());
  tmp.committed = true;
  return out;
}

std::uint64_t base_initramfs_ram_bytes(const fs::path& base) {
  if (std::optional<std::string> text = read_file(ram_record_path(base))) {
    char* end = nullptr;
    const unsigned long long bytes = std::strtoull(text->c_str(), &end, 10);
    if (end != text->c_str() && (*end == '\n' || *end == '\0')) return bytes;
  }
  struct stat st {};
  if (::stat(base.c_str(), &st) != 0) throw sys_error("stat", base.string());
  return static_cast<std::uint64_t>(st.st_size) / 4 * 5;
}

void write_run_initramfs(const fs::path& base, const Job& job, const std::vector<ResolvedMount>& mounts,
                         const fs::path& out) {
  Fd in(::open(base.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) throw sys_error("open", base.string());
  PendingFile file(out, 0600);
  copy_whole(in.get(), file.fd.get(), base, out);
  // The kernel looks for the next archive's "070701" only at 4-byte offsets, skipping
  // zeros after a compressed stream.
  off_t end = ::lseek(file.fd.get(), 0, SEEK_END);
  if (end < 0) throw sys_error("lseek", out.string());
  static constexpr char zeros[4] = {};
  write_all(file.fd.get(), zeros, static_cast<std::size_t>((4 - end % 4) % 4), out);
  {
    CpioWriter w(file.fd.get(), CpioWriter::Compression::none, out.string());
    TreeBudget budget{kMaxMountBytes, 0, {}};
    for (const ResolvedMount& m : mounts) add_mount(w, m, budget);
    // Last, so that nothing a mount brings can replace it.
    std::string agent_dir(kAgentDir.substr(1));
    w.directory(agent_dir, {0700, 0, 0, 0});
    w.file(std::string(kJobPath.substr(1)), {0600, 0, 0, 0}, job_to_json(job));
    w.finish();
  }
  file.committed = true;
}

}  // namespace gatebox::vm
