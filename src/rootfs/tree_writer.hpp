#pragma once
// Internal to the rootfs stage: archive entry names made safe, and the writer that creates
// entries below the destination with openat() and O_NOFOLLOW on every component.
#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "util/error.hpp"
#include "util/fd.hpp"

namespace gatebox {

// A checked archive path: no "..", not absolute, no control characters; "." and empty
// components dropped. `parts` is empty for the root entry ("./").
struct EntryPath {
  std::string raw;  // as written in the archive, for messages
  std::string text;  // normalised, "a/b/c"
  std::vector<std::string> parts;
};

// The name quoted for a message, with control characters escaped (they may be hostile).
std::string quote_name(std::string_view raw);
// "IMAGE: entry 'NAME': REASON", exit 65.
Error entry_error(std::string_view label, std::string_view raw, std::string_view reason);
EntryPath parse_entry_path(std::string_view label, std::string_view raw);

struct EntryMeta {
  mode_t mode = 0755;  // permission bits only; set-id bits already cleared
  uid_t uid = 0;
  gid_t gid = 0;
  timespec mtime{0, UTIME_OMIT};
};

// Creates the entries of one archive below `dest`, refusing anything that could write
// outside it: parents are walked one component at a time with O_NOFOLLOW, every name is
// claimed once, and a path may only pass through directories this archive created.
class TreeWriter {
 public:
  TreeWriter(const std::filesystem::path& dest, std::string label);

  void directory(const EntryPath& p, const EntryMeta& meta);
  // Created empty with mode 0600; the caller writes it, then calls finish_file.
  Fd regular_file(const EntryPath& p);
  void finish_file(int fd, const EntryPath& p, const EntryMeta& meta, std::uint64_t size);
  void symlink(const EntryPath& p, std::string_view target, const EntryMeta& meta);
  void hardlink(const EntryPath& p, const EntryPath& target);
  // A device, FIFO or socket: not created, but its name is taken.
  void skipped(const EntryPath& p);
  // Applies directory modes, owners and times, deepest first.
  void finish();

 private:
  enum class Kind { implicit_dir, dir, file, symlink, skipped };
  struct PendingDir {
    std::vector<std::string> parts;
    EntryMeta meta;
    bool from_archive = false;
  };

  int parent_dir(const EntryPath& p);
  Fd walk(const std::vector<std::string>& parts, std::size_t count, const EntryPath& p);
  void claim(const EntryPath& p, Kind kind);
  void apply_meta(int fd, const std::string& shown, const EntryMeta& meta, bool owner);
  Error fs_error(std::string_view call, const EntryPath& p) const;

  std::string label_;
  std::filesystem::path dest_;
  Fd root_;
  bool as_root_;
  std::unordered_map<std::string, Kind> names_;
  std::unordered_map<std::string, std::size_t> dir_index_;
  std::vector<PendingDir> dirs_;
  bool root_seen_ = false;
  EntryMeta root_meta_;
  std::string cached_parent_;
  Fd cached_fd_;
};

}  // namespace gatebox
