// Creates archive entries below the destination directory without ever leaving it.
#include "rootfs/tree_writer.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <numeric>

namespace gatebox {
namespace {

constexpr int walk_flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

std::string join(const std::vector<std::string>& parts, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    if (i > 0) out += '/';
    out += parts[i];
  }
  return out;
}

bool is_empty_dir(int fd) {
  int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return false;
  DIR* d = ::fdopendir(copy);
  if (d == nullptr) {
    ::close(copy);
    return false;
  }
  bool empty = true;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") {
      empty = false;
      break;
    }
  }
  ::closedir(d);
  return empty;
}

}  // namespace

TreeWriter::TreeWriter(const std::filesystem::path& dest, std::string label)
    : label_(std::move(label)), dest_(dest), as_root_(::geteuid() == 0) {
  root_.reset(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root_) throw sys_error("open", dest.string());
  if (!is_empty_dir(root_.get())) {
    throw make_error(ExitCode::internal, "cannot unpack into {}: the directory is not empty", dest.string());
  }
}

Error TreeWriter::fs_error(std::string_view call, const EntryPath& p) const {
  return sys_error(call, fmt::format("{}: entry {}", label_, quote_name(p.raw)));
}

void TreeWriter::claim(const EntryPath& p, Kind kind) {
  auto [it, inserted] = names_.emplace(p.text, kind);
  if (!inserted) throw entry_error(label_, p.raw, "duplicate path (an earlier entry has the same name)");
}

// Opens parts[from..count) below `base`, creating missing directories. Each component is
// checked twice: against what this archive created (so a symlink it made earlier is
// refused by name) and by the kernel (O_NOFOLLOW|O_DIRECTORY on every single step).
Fd TreeWriter::walk(const std::vector<std::string>& parts, std::size_t count, const EntryPath& p) {
  int base = root_.get();
  std::size_t from = 0;
  std::string sofar;
  std::string parent = join(parts, count);
  if (cached_fd_ && !cached_parent_.empty() && parent.size() > cached_parent_.size() &&
      parent.starts_with(cached_parent_) && parent[cached_parent_.size()] == '/') {
    base = cached_fd_.get();
    from = static_cast<std::size_t>(std::count(cached_parent_.begin(), cached_parent_.end(), '/')) + 1;
    sofar = cached_parent_;
  }
  Fd cur;
  for (std::size_t i = from; i < count; ++i) {
    if (!sofar.empty()) sofar += '/';
    sofar += parts[i];
    int at = cur ? cur.get() : base;
    auto it = names_.find(sofar);
    if (it == names_.end()) {
      if (::mkdirat(at, parts[i].c_str(), 0700) != 0) throw fs_error("mkdir", p);
      names_.emplace(sofar, Kind::implicit_dir);
      dir_index_[sofar] = dirs_.size();
      dirs_.push_back(PendingDir{std::vector<std::string>(parts.begin(), parts.begin() + static_cast<long>(i) + 1), EntryMeta{}, false});
    } else if (it->second == Kind::symlink) {
      throw entry_error(label_, p.raw,
                        fmt::format("writes through the symlink {} extracted earlier", quote_name(sofar)));
    } else if (it->second != Kind::dir && it->second != Kind::implicit_dir) {
      throw entry_error(label_, p.raw, fmt::format("{} is not a directory", quote_name(sofar)));
    }
    Fd next(::openat(at, parts[i].c_str(), walk_flags));
    if (!next) {
      if (errno == ELOOP || errno == ENOTDIR) {
        throw entry_error(label_, p.raw, fmt::format("{} is not a directory", quote_name(sofar)));
      }
      throw fs_error("open", p);
    }
    cur = std::move(next);
  }
  return cur;
}

// The directory that will hold p's last component; the last one is kept open because
// archives list siblings together.
int TreeWriter::parent_dir(const EntryPath& p) {
  std::size_t count = p.parts.size() - 1;
  if (count == 0) return root_.get();
  std::string parent = join(p.parts, count);
  if (cached_fd_ && parent == cached_parent_) return cached_fd_.get();
  Fd fd = walk(p.parts, count, p);
  cached_fd_ = std::move(fd);
  cached_parent_ = std::move(parent);
  return cached_fd_.get();
}

void TreeWriter::apply_meta(int fd, const std::string& shown, const EntryMeta& meta, bool owner) {
  // Ownership first: chown may clear mode bits, and it is only meaningful (and only
  // permitted) for root; otherwise the tree belongs to whoever runs gatebox.
  if (as_root_ && owner && ::fchown(fd, meta.uid, meta.gid) != 0) throw sys_error("chown", shown);
  if (::fchmod(fd, meta.mode) != 0) throw sys_error("chmod", shown);
  if (meta.mtime.tv_nsec != UTIME_OMIT) {
    timespec times[2] = {meta.mtime, meta.mtime};
    if (::futimens(fd, times) != 0) throw sys_error("utimensat", shown);
  }
}

void TreeWriter::directory(const EntryPath& p, const EntryMeta& meta) {
  if (p.parts.empty()) {
    if (root_seen_) throw entry_error(label_, p.raw, "duplicate path (an earlier entry has the same name)");
    root_seen_ = true;
    root_meta_ = meta;
    return;
  }
  auto it = names_.find(p.text);
  if (it != names_.end() && it->second == Kind::implicit_dir) {
    // Created earlier as the parent of another entry; now the archive names it.
    it->second = Kind::dir;
    PendingDir& d = dirs_[dir_index_.at(p.text)];
    d.meta = meta;
    d.from_archive = true;
    return;
  }
  int parent = parent_dir(p);
  claim(p, Kind::dir);
  // Writable while children are added; the archive's mode is applied in finish().
  if (::mkdirat(parent, p.parts.back().c_str(), 0700) != 0) throw fs_error("mkdir", p);
  dir_index_[p.text] = dirs_.size();
  dirs_.push_back(PendingDir{p.parts, meta, true});
}

Fd TreeWriter::regular_file(const EntryPath& p) {
  if (p.parts.empty()) throw entry_error(label_, p.raw, "the archive root must be a directory");
  int parent = parent_dir(p);
  claim(p, Kind::file);
  Fd fd(::openat(parent, p.parts.back().c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) throw fs_error("create", p);
  return fd;
}

void TreeWriter::finish_file(int fd, const EntryPath& p, const EntryMeta& meta, std::uint64_t size) {
  // Sets the length of a file that ends in a hole (sparse entries) without writing it.
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) throw fs_error("ftruncate", p);
  apply_meta(fd, fmt::format("{}: entry {}", label_, quote_name(p.raw)), meta, true);
}

void TreeWriter::symlink(const EntryPath& p, std::string_view target, const EntryMeta& meta) {
  if (p.parts.empty()) throw entry_error(label_, p.raw, "the archive root must be a directory");
  if (target.empty()) throw entry_error(label_, p.raw, "symlink with an empty target");
  if (target.size() >= PATH_MAX) throw entry_error(label_, p.raw, "symlink target is too long");
  for (char c : target) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) throw entry_error(label_, p.raw, "control characters are not allowed in symlink targets");
  }
  int parent = parent_dir(p);
  claim(p, Kind::symlink);
  const char* name = p.parts.back().c_str();
  // The target is stored as written; it is only ever resolved inside the sandbox.
  if (::symlinkat(std::string(target).c_str(), parent, name) != 0) throw fs_error("symlink", p);
  if (as_root_ && ::fchownat(parent, name, meta.uid, meta.gid, AT_SYMLINK_NOFOLLOW) != 0) throw fs_error("chown", p);
  if (meta.mtime.tv_nsec != UTIME_OMIT) {
    timespec times[2] = {meta.mtime, meta.mtime};
    if (::utimensat(parent, name, times, AT_SYMLINK_NOFOLLOW) != 0) throw fs_error("utimensat", p);
  }
}

void TreeWriter::hardlink(const EntryPath& p, const EntryPath& target) {
  if (p.parts.empty()) throw entry_error(label_, p.raw, "the archive root must be a directory");
  auto it = names_.find(target.text);
  if (target.parts.empty() || it == names_.end() || it->second != Kind::file) {
    throw entry_error(label_, p.raw,
                      fmt::format("hardlink to {}, which is not a regular file extracted earlier from this archive",
                                  quote_name(target.raw)));
  }
  Fd target_parent = walk(target.parts, target.parts.size() - 1, p);
  int target_at = target_parent ? target_parent.get() : root_.get();
  int parent = parent_dir(p);
  claim(p, Kind::file);
  if (::linkat(target_at, target.parts.back().c_str(), parent, p.parts.back().c_str(), 0) != 0) {
    throw fs_error("link", p);
  }
}

void TreeWriter::skipped(const EntryPath& p) {
  if (p.parts.empty()) throw entry_error(label_, p.raw, "the archive root must be a directory");
  claim(p, Kind::skipped);
}

void TreeWriter::finish() {
  std::vector<std::size_t> order(dirs_.size());
  std::iota(order.begin(), order.end(), 0);
  // Deepest first: a directory whose final mode is read-only (or 0) is closed only after
  // everything below it is done. Siblings stay together so the parent cache keeps working.
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (dirs_[a].parts.size() != dirs_[b].parts.size()) return dirs_[a].parts.size() > dirs_[b].parts.size();
    return dirs_[a].parts < dirs_[b].parts;
  });
  for (std::size_t i : order) {
    const PendingDir& d = dirs_[i];
    EntryPath p;
    p.text = join(d.parts, d.parts.size());
    p.raw = p.text;
    p.parts = d.parts;
    int parent = parent_dir(p);
    Fd fd(::openat(parent, p.parts.back().c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) throw fs_error("open", p);
    apply_meta(fd.get(), fmt::format("{}: entry {}", label_, quote_name(p.raw)), d.meta, d.from_archive);
  }
  cached_fd_.reset();
  cached_parent_.clear();
  apply_meta(root_.get(), fmt::format("{}: root directory", label_), root_meta_, root_seen_);
}

}  // namespace gatebox
