#pragma once
// Internal to the rootfs stage: where things live in the cache directory, and the locks.
//
//   rootfs/<sha256>/       an unpacked tree; only ever appears by rename(), so it is complete
//   rootfs/<sha256>.meta   JSON (image, bytes, entries, created); its mtime is last_used
//   locks/<sha256>.lock    flock: exclusive while unpacking or removing, shared while in use
//   tmp/<what>-<pid>-XXXXXX  work in progress; swept by prune once <pid> is gone
//   index/<key>            sha256 of an image file known by (path, dev, inode, size, times)
#include <filesystem>
#include <string>
#include <string_view>

#include "util/fd.hpp"

namespace gatebox {

struct CacheLayout {
  explicit CacheLayout(const std::filesystem::path& dir)
      : root(dir), trees(dir / "rootfs"), tmp(dir / "tmp"), locks(dir / "locks"), index(dir / "index") {}

  std::filesystem::path tree(std::string_view sha) const { return trees / std::string(sha); }
  std::filesystem::path meta(std::string_view sha) const { return trees / (std::string(sha) + ".meta"); }
  std::filesystem::path lock(std::string_view sha) const { return locks / (std::string(sha) + ".lock"); }
  // Creates the directories (mode 0700: the cache is private to its user).
  void create() const;

  std::filesystem::path root, trees, tmp, locks, index;
};

bool is_sha256_hex(std::string_view s);
// Opens (creating) a lock file. Lock files are never deleted: deleting one would let two
// processes hold "the" lock on different inodes.
Fd open_lock_file(const std::filesystem::path& path);
// flock that still honours SIGINT/SIGTERM while it waits (they arrive on a signalfd, so a
// blocking flock would not be interrupted).
void wait_for_lock(int fd, int operation, const std::filesystem::path& shown);
// True if `operation | LOCK_NB` succeeded.
bool try_lock(int fd, int operation, const std::filesystem::path& shown);
// Writes `text` to `path` through a temporary file and rename(), so readers never see half.
void write_file_atomically(const std::filesystem::path& path, std::string_view text);

}  // namespace gatebox
