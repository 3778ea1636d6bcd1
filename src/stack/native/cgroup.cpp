#include "util/process.hpp"
#include "stack/native/cgroup.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/ranges.h>

#include "stack/native/cgroup_detail.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"

namespace gatebox {

namespace cgroup_detail {

namespace {

bool is_at_or_below(const fs::path& p, const fs::path& root) {
  auto [r, q] = std::mismatch(root.begin(), root.end(), p.begin(), p.end());
  return r == root.end();
}

fs::path normal(const fs::path& p) {
  fs::path n = p.lexically_normal();
  if (n.has_relative_path() && !n.has_filename()) n = n.parent_path();  // drop a trailing '/'
  return n;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t end = s.find(sep, start);
    if (end == std::string_view::npos) end = s.size();
    if (end > start) parts.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

bool is_v1_controller(std::string_view name) {
  return std::find(std::begin(v1_controllers), std::end(v1_controllers), name) != std::end(v1_controllers);
}

// From cgroup mounts below `root`: authoritative on a real host, where a controller may share
// a hierarchy ("cpu,cpuacct") under any directory name.
bool scan_mounts(const fs::path& root, std::string_view mounts_text, CgroupTree& tree) {
  bool any = false;
  bool v2_below = false;
  std::istringstream in{std::string(mounts_text)};
  std::string line;
  while (std::getline(in, line)) {
    auto fields = split(line, ' ');
    if (fields.size() < 4) continue;
    const std::string& type = fields[2];
    if (type != "cgroup" && type != "cgroup2") continue;
    fs::path point = normal(unescape_mount_field(fields[1]));
    if (!is_at_or_below(point, root)) continue;
    any = true;
    if (type == "cgroup2") {
      if (point == root) {
        tree.layout = CgroupLayout::v2;
        tree.v2_root = point;
      } else {
        v2_below = true;
      }
      continue;
    }
    for (const auto& opt : split(fields[3], ','))
      if (is_v1_controller(opt) && !tree.v1.count(opt)) tree.v1[opt] = point;
  }
  if (tree.layout == CgroupLayout::v2) {
    tree.v1.clear();
  } else if (tree.v1.count("memory")) {
    tree.layout = v2_below ? CgroupLayout::hybrid : CgroupLayout::v1;
  } else {
    tree.v1.clear();
  }
  return any;
}

// From the files under `root` (a fake cgroupfs in tests, or a host whose mounts we cannot read).
void scan_files(const fs::path& root, CgroupTree& tree) {
  std::error_code ec;
  if (fs::exists(root / "cgroup.controllers", ec)) {
    tree.layout = CgroupLayout::v2;
    tree.v2_root = root;
    return;
  }
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    std::error_code ec2;
    if (!entry.is_directory(ec2)) continue;  // follows symlinks such as cpu -> cpu,cpuacct
    fs::path real = fs::canonical(entry.path(), ec2);
    if (ec2) real = entry.path();
    for (const auto& name : split(entry.path().filename().string(), ','))
      if (is_v1_controller(name) && !tree.v1.count(name)) tree.v1[name] = real;
  }
  if (!tree.v1.count("memory")) {
    tree.v1.clear();
    return;
  }
  tree.layout = fs::exists(root / "unified" / "cgroup.controllers", ec) ? CgroupLayout::hybrid : CgroupLayout::v1;
}

}  // namespace

CgroupTree scan_tree(const fs::path& root_in, std::string_view mounts_text) {
  CgroupTree tree;
  const fs::path root = normal(root_in);
  if (!scan_mounts(root, mounts_text, tree)) scan_files(root, tree);
  return tree;
}

std::string read_self_mounts() { return read_file("/proc/self/mounts").value_or(""); }

int try_write(const fs::path& path, std::string_view value) {
  // O_TRUNC keeps a fake cgroupfs file holding exactly the last value; cgroupfs ignores it.
  Fd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
  if (!fd) return errno;
  // Control files take one value per write(2); a short write is an error, not a retry.
  ssize_t n;
  do n = ::write(fd.get(), value.data(), value.size());
  while (n < 0 && errno == EINTR);
  if (n < 0) return errno;
  if (static_cast<std::size_t>(n) != value.size()) return EIO;
  return 0;
}

void write_file(const fs::path& path, std::string_view value) {
  if (int err = try_write(path, value)) throw sys_error("write", fmt::format("'{}' to {}", value, path.string()), err);
}

std::map<std::string, std::uint64_t> read_keyed(const fs::path& path) {
  std::map<std::string, std::uint64_t> out;
  std::istringstream in(read_file(path).value_or(""));
  std::string key;
  std::string value;
  while (in >> key >> value) {
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec == std::errc() && p == value.data() + value.size()) out[key] = v;
  }
  return out;
}

std::optional<std::uint64_t> read_number(const fs::path& path) {
  auto text = read_file(path);
  if (!text) return std::nullopt;
  std::uint64_t v = 0;
  const char* begin = text->data();
  auto [p, ec] = std::from_chars(begin, begin + text->size(), v);
  if (ec != std::errc() || p == begin) return std::nullopt;
  return v;
}

std::vector<pid_t> read_pids(const fs::path& procs) {
  std::vector<pid_t> pids;
  std::istringstream in(read_file(procs).value_or(""));
  long pid = 0;
  while (in >> pid)
    if (pid > 0) pids.push_back(static_cast<pid_t>(pid));
  return pids;
}

void make_dir(const fs::path& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) throw sys_error("mkdir", path.string());
}

int remove_cgroup_dir(const fs::path& path) {
  if (::rmdir(path.c_str()) == 0 || errno == ENOENT) return 0;
  int err = errno;
  struct statfs st {};
  if ((err == ENOTEMPTY || err == EEXIST) && ::statfs(path.c_str(), &st) == 0 &&
      st.f_type != CGROUP_SUPER_MAGIC && st.f_type != CGROUP2_SUPER_MAGIC) {
    std::error_code ec;
    fs::remove_all(path, ec);
    return ec.value();
  }
  return err;
}

bool wait_empty(const fs::path& dir, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (read_pids(dir / "cgroup.procs").empty()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void kill_listed(const fs::path& dir, std::chrono::milliseconds limit) noexcept {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  try {
    for (;;) {
      auto pids = read_pids(dir / "cgroup.procs");
      if (pids.empty()) return;
      for (pid_t pid : pids) ::kill(pid, SIGKILL);
      if (std::chrono::steady_clock::now() >= deadline) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  } catch (...) {
    // Out of memory while listing: nothing better to do in a noexcept teardown path.
  }
}

std::uint64_t cpu_quota_us(double cpus) {
  auto quota = static_cast<std::uint64_t>(std::llround(cpus * static_cast<double>(cpu_period_us)));
  return std::max<std::uint64_t>(quota, 1000);
}

}  // namespace cgroup_detail

using namespace cgroup_detail;

namespace {

std::string join_present(const std::vector<std::string>& names, const auto& has) {
  std::string out;
  for (const auto& n : names) {
    if (!has(n)) continue;
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out.empty() ? "no usable controllers" : out;
}

// The owner pid of a run id "<pid>-<hex>", when the name has that form.
std::optional<pid_t> run_owner(const std::string& name) {
  auto dash = name.find('-');
  if (dash == 0 || dash == std::string::npos || dash > 9) return std::nullopt;
  long pid = 0;
  auto [p, ec] = std::from_chars(name.data(), name.data() + dash, pid);
  if (ec != std::errc() || p != name.data() + dash || pid <= 0) return std::nullopt;
  return static_cast<pid_t>(pid);
}


bool is_stale(const fs::path& dir) {
  if (auto owner = run_owner(dir.filename().string())) return !process_alive(*owner);
  // Not one of ours by the contract: only an old, empty one goes, so a run that has just
  // created its cgroup and not yet moved its process in is never swept.
  std::error_code ec;
  auto mtime = fs::last_write_time(dir, ec);
  if (ec || fs::file_time_type::clock::now() - mtime < std::chrono::seconds(60)) return false;
  return read_pids(dir / "cgroup.procs").empty();
}

}  // namespace

CgroupHost detect_cgroups(const std::filesystem::path& root) { return detect_cgroups(root, read_self_mounts()); }

CgroupHost detect_cgroups(const std::filesystem::path& root, std::string_view mounts_text) {
  CgroupHost host;
  CgroupTree tree = scan_tree(root, mounts_text);
  host.layout = tree.layout;
  const std::vector<std::string> wanted = {"memory", "pids", "cpu"};
  fs::path parent;
  std::error_code ec;
  switch (tree.layout) {
    case CgroupLayout::none:
      host.description = "none";
      host.unusable_reason = fmt::format("no cgroup2 and no cgroup v1 memory controller found at {}", root.string());
      return host;
    case CgroupLayout::v2: {
      auto available = split(read_file(tree.v2_root / "cgroup.controllers").value_or(""), ' ');
      for (auto& a : available) a.erase(std::remove(a.begin(), a.end(), '\n'), a.end());
      auto has = [&](const std::string& n) { return std::find(available.begin(), available.end(), n) != available.end(); };
      host.description = fmt::format("v2 ({})", join_present(wanted, has));
      std::vector<std::string> lacking;
      for (const char* need : {"memory", "pids"})
        if (!has(need)) lacking.emplace_back(need);
      if (!lacking.empty())
        host.unusable_reason = fmt::format("the cgroup2 hierarchy at {} does not offer the {} controller{}",
                                           tree.v2_root.string(), fmt::join(lacking, " and "),
                                           lacking.size() > 1 ? "s" : "");
      parent = tree.v2_root;
      break;
    }
    case CgroupLayout::hybrid:
    case CgroupLayout::v1: {
      auto has = [&](const std::string& n) { return tree.v1.count(n) > 0; };
      host.description = fmt::format("{} ({} on v1)", tree.layout == CgroupLayout::hybrid ? "v1/v2 hybrid" : "v1",
                                     join_present(wanted, has));
      if (!has("pids")) host.unusable_reason = fmt::format("no cgroup v1 pids controller is mounted under {}", root.string());
      parent = tree.v1.at("memory");
      break;
    }
  }
  if (fs::is_directory(parent / "gatebox", ec)) parent /= "gatebox";
  if (::access(parent.c_str(), W_OK) != 0) {
    if (errno == EROFS)
      host.unusable_reason = fmt::format("{} is mounted read-only", parent.string());
    else if (::geteuid() != 0)
      host.unusable_reason = fmt::format(
          "{} is not writable: cgroup limits need root (on cgroup v1, a gatebox directory "
          "there that an administrator made yours also works)",
          parent.string());
  }
  return host;
}

std::unique_ptr<Cgroup> create_cgroup(const std::string& run_id, const CgroupLimits& limits,
                                      const std::filesystem::path& root) {
  if (run_id.empty() || run_id == "." || run_id == ".." || run_id.find('/') != std::string::npos)
    throw make_error(ExitCode::internal, "invalid run id '{}' for a cgroup name", run_id);
  CgroupTree tree = scan_tree(root, read_self_mounts());
  switch (tree.layout) {
    case CgroupLayout::v2: return create_v2(run_id, limits, tree.v2_root);
    case CgroupLayout::hybrid:
    case CgroupLayout::v1: return create_v1(run_id, limits, tree);
    case CgroupLayout::none: break;
  }
  throw make_error(ExitCode::internal, "cannot set limits: no cgroup2 and no cgroup v1 memory controller found at {}",
                   root.string());
}

std::vector<std::string> sweep_cgroups(const std::filesystem::path& root) {
  CgroupTree tree = scan_tree(root, read_self_mounts());
  // The freezer goes first: a run killed while frozen only dies once thawed.
  std::vector<fs::path> hierarchies;
  if (tree.layout == CgroupLayout::v2) hierarchies.push_back(tree.v2_root);
  if (tree.v1.count("freezer")) hierarchies.push_back(tree.v1.at("freezer"));
  for (const auto& [ctrl, dir] : tree.v1)
    if (std::find(hierarchies.begin(), hierarchies.end(), dir) == hierarchies.end()) hierarchies.push_back(dir);

  std::vector<std::string> removed;
  for (const auto& hierarchy : hierarchies) {
    std::error_code ec;
    std::vector<fs::path> runs;
    for (const auto& entry : fs::directory_iterator(hierarchy / "gatebox", ec)) {
      std::error_code ec2;
      if (entry.is_directory(ec2) && !entry.is_symlink(ec2)) runs.push_back(entry.path());
    }
    for (const auto& dir : runs) {
      if (!is_stale(dir)) continue;
      if (fs::exists(dir / "freezer.state", ec)) try_write(dir / "freezer.state", "THAWED");
      if (fs::exists(dir / "cgroup.freeze", ec)) try_write(dir / "cgroup.freeze", "0");
      std::size_t killed = read_pids(dir / "cgroup.procs").size();
      if (killed > 0) {
        if (fs::exists(dir / "cgroup.kill", ec)) try_write(dir / "cgroup.kill", "1");
        kill_listed(dir, std::chrono::milliseconds(2000));
        if (!read_pids(dir / "cgroup.procs").empty()) continue;
      }
      if (remove_cgroup_dir(dir) != 0) continue;
      removed.push_back(killed > 0 ? fmt::format("removed stale cgroup {} (killed {} processes)", dir.string(), killed)
                                   : fmt::format("removed stale cgroup {}", dir.string()));
    }
  }
  return removed;
}

}  // namespace gatebox
