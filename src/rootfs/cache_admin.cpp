// `gatebox cache list|prune|clear`: inspecting and shrinking the rootfs cache without ever
// removing a tree that a run is using (runs hold a shared flock on the entry).
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <fstream>
#include <optional>

#include <nlohmann/json.hpp>

#include "util/process.hpp"
#include "rootfs/cache_layout.hpp"
#include "rootfs/rootfs.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/units.hpp"

namespace gatebox {
namespace fs = std::filesystem;
namespace {

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::vector<fs::directory_entry> list_dir(const fs::path& dir) {
  std::vector<fs::directory_entry> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) out.push_back(*it);
  std::sort(out.begin(), out.end());
  return out;
}

CacheEntry read_entry(const CacheLayout& layout, const std::string& sha) {
  CacheEntry e;
  e.sha256 = sha;
  e.dir = layout.tree(sha);
  struct stat st {};
  if (::stat(layout.meta(sha).c_str(), &st) == 0) {
    e.last_used = st.st_mtim.tv_sec;
    std::ifstream in(layout.meta(sha));
    nlohmann::json meta = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (meta.is_object() && meta.contains("bytes") && meta["bytes"].is_number_unsigned()) {
      e.bytes = meta["bytes"].get<std::uint64_t>();
    }
  } else if (::stat(e.dir.c_str(), &st) == 0) {
    e.last_used = st.st_mtim.tv_sec;
  }
  return e;
}

// An exclusive lock on the entry if no run holds it, else an invalid Fd.
Fd lock_unused(const CacheLayout& layout, const std::string& sha) {
  Fd fd(::open(layout.lock(sha).c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
  if (!fd && errno == ENOENT) fd = open_lock_file(layout.lock(sha));
  if (!fd) throw sys_error("open", layout.lock(sha).string());
  if (!try_lock(fd.get(), LOCK_EX, layout.lock(sha))) return Fd();
  return fd;
}

// Takes the tree out of rootfs/ with one rename first, so an interrupted removal never
// leaves a half-deleted tree where a run would take it for a complete one.
void remove_entry(const CacheLayout& layout, const std::string& sha) {
  fs::path tree = layout.tree(sha);
  struct stat st {};
  // Moving a directory to another parent needs write permission on it (its ".." changes).
  if (::stat(tree.c_str(), &st) == 0) ::chmod(tree.c_str(), (st.st_mode & 07777) | 0700);
  fs::path doomed = layout.tmp / fmt::format("remove-{}-{}", ::getpid(), sha.substr(0, 16));
  remove_tree(doomed);
  if (::rename(tree.c_str(), doomed.c_str()) != 0) throw sys_error("rename", tree.string());
  if (::unlink(layout.meta(sha).c_str()) != 0 && errno != ENOENT) throw sys_error("unlink", layout.meta(sha).string());
  remove_tree(doomed);
}

// "<what>-<pid>-<suffix>" (temp dirs) or "<name>.tmp-<pid>" (files being written).
std::optional<pid_t> owner_pid(const std::string& name) {
  std::string_view rest;
  if (auto t = name.rfind(".tmp-"); t != std::string::npos) {
    rest = std::string_view(name).substr(t + 5);
  } else if (auto dash = name.find('-'); dash != std::string::npos) {
    rest = std::string_view(name).substr(dash + 1);
  } else {
    return std::nullopt;
  }
  pid_t pid = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), pid);
  if (ec != std::errc() || pid <= 0 || end == rest.data()) return std::nullopt;
  if (end != rest.data() + rest.size() && *end != '-') return std::nullopt;
  return pid;
}


// Things left by processes that no longer exist: temp dirs and half-written files.
void sweep_orphans(const CacheLayout& layout, std::vector<std::string>& lines) {
  for (const auto& e : list_dir(layout.tmp)) {
    std::string name = e.path().filename().string();
    auto pid = owner_pid(name);
    if (!pid || process_alive(*pid)) continue;
    remove_tree(e.path());
    lines.push_back(fmt::format("removed {} (left by process {}, which is gone)", e.path().string(), *pid));
  }
  for (const fs::path& dir : {layout.trees, layout.index}) {
    for (const auto& e : list_dir(dir)) {
      std::string name = e.path().filename().string();
      if (name.find(".tmp-") == std::string::npos) continue;
      auto pid = owner_pid(name);
      if (pid && !process_alive(*pid)) ::unlink(e.path().c_str());
    }
  }
  // Metadata whose tree is gone (a run died between writing it and the rename).
  for (const auto& e : list_dir(layout.trees)) {
    const fs::path& p = e.path();
    if (p.extension() == ".meta" && is_sha256_hex(p.stem().string()) && !fs::exists(layout.tree(p.stem().string()))) {
      ::unlink(p.c_str());
    }
  }
}

// Removes entries not in use whose last use is at or before `cutoff` (unix seconds).
std::vector<std::string> sweep(const fs::path& cache_dir, std::int64_t cutoff) {
  std::vector<std::string> lines;
  if (!fs::is_directory(cache_dir)) return lines;
  CacheLayout layout(cache_dir);
  layout.create();
  sweep_orphans(layout, lines);
  for (const CacheEntry& entry : cache_list(cache_dir)) {
    if (entry.last_used > cutoff) continue;
    Fd lock = lock_unused(layout, entry.sha256);
    if (!lock) continue;  // a run is using it
    remove_entry(layout, entry.sha256);
    lines.push_back(fmt::format("removed rootfs {}… ({})", entry.sha256.substr(0, 12), format_size(entry.bytes)));
  }
  // Index records only save re-hashing; old ones may name files that no longer exist.
  for (const auto& e : list_dir(layout.index)) {
    struct stat st {};
    if (::stat(e.path().c_str(), &st) == 0 && st.st_mtim.tv_sec <= cutoff) ::unlink(e.path().c_str());
  }
  return lines;
}

}  // namespace

fs::path cache_tmp_dir(const fs::path& cache_dir) {
  CacheLayout layout(cache_dir);
  make_dirs(layout.tmp, 0700);
  return layout.tmp;
}

std::vector<CacheEntry> cache_list(const fs::path& cache_dir) {
  std::vector<CacheEntry> out;
  CacheLayout layout(cache_dir);
  for (const auto& e : list_dir(layout.trees)) {
    std::string name = e.path().filename().string();
    std::error_code ec;
    if (!is_sha256_hex(name) || !e.is_directory(ec) || e.is_symlink(ec)) continue;
    CacheEntry entry = read_entry(layout, name);
    Fd fd(::open(layout.lock(name).c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
    entry.in_use = fd && !try_lock(fd.get(), LOCK_EX, layout.lock(name));
    out.push_back(std::move(entry));
  }
  return out;
}

std::vector<std::string> cache_prune(const fs::path& cache_dir, std::chrono::seconds older_than) {
  return sweep(cache_dir, now_seconds() - older_than.count());
}

std::vector<std::string> cache_clear(const fs::path& cache_dir) {
  return sweep(cache_dir, std::numeric_limits<std::int64_t>::max());
}

}  // namespace gatebox
