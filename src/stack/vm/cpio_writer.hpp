#pragma once
// Internal to the VM stacks: cpio "newc" archives (the only format the kernel's initramfs
// unpacker reads) written through libarchive, and the walk that copies a host tree into one.
#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "util/error.hpp"

struct archive;
struct archive_entry;
struct archive_entry_linkresolver;

namespace gatebox::vm {

struct CpioMeta {
  mode_t mode = 0755;  // permission bits
  std::uint32_t uid = 0, gid = 0;
  std::int64_t mtime = 0;
};

// How much of a host tree may be copied: the guest holds it all in RAM.
struct TreeBudget {
  std::uint64_t max_bytes = 0;
  std::uint64_t bytes = 0;                // file data copied so far
  std::function<Error()> too_big;         // the error thrown once max_bytes is passed
};

class CpioWriter {
 public:
  enum class Compression { none, zstd };
  // Writes at `fd`'s current offset; `shown` names the output in errors.
  CpioWriter(int fd, Compression compression, std::string shown);
  CpioWriter(const CpioWriter&) = delete;
  CpioWriter& operator=(const CpioWriter&) = delete;
  ~CpioWriter();

  // Paths are relative ("bin/sh"); parents must have been written first.
  void directory(const std::string& path, const CpioMeta& meta);
  void file(const std::string& path, const CpioMeta& meta, std::string_view contents);
  void symlink(const std::string& path, const std::string& target, const CpioMeta& meta);
  // Directory entries (0755, root) for every ancestor of `path` not written yet.
  void parents(const std::string& path);

  // Every directory, regular file and symlink below the directory `dirfd` (walked without
  // following symlinks; devices, FIFOs and sockets skipped), named `prefix`/<relative path>
  // ("" = at the top). Hard links inside the tree stay hard links. Owners, modes and mtimes
  // are the host's. Names in `skip_top` are left out at the top of the tree.
  void add_tree(int dirfd, const std::string& prefix, const std::string& shown, TreeBudget& budget,
                const std::set<std::string>& skip_top = {});
  // A single host file (already open, regular) at `path`.
  void add_file(int fd, const struct stat& st, const std::string& path, const std::string& shown, TreeBudget& budget);

  // The trailer, the compressor's end and the flush. Throws on a write error.
  void finish();

 private:
  struct Walk;
  void write_entry(archive_entry* e, int data_fd, const std::string& shown);
  void walk_dir(Walk& w, int dirfd, const std::string& dest, const std::string& rel);
  void emit_file(Walk& w, int fd, const struct stat& st, const std::string& dest, const std::string& rel);
  void drain_links(Walk& w);
  archive_entry* new_entry(const std::string& path, mode_t type, const CpioMeta& meta);
  Error archive_failure(std::string_view what) const;

  archive* a_ = nullptr;
  archive_entry_linkresolver* links_ = nullptr;
  std::string shown_;
  std::int64_t next_ino_ = 1;
  std::set<std::string> dirs_;  // directories written, for parents()
  bool finished_ = false;
};

}  // namespace gatebox::vm
