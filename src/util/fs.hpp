#pragma once
// File-tree helpers shared by the stages: robust removal of trees that may hold read-only
// directories, an owned temporary directory, and mkdir -p with a private mode.
#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"
#include "util/fd.hpp"

namespace gatebox {

// Removes `path` and everything below it. Never follows symlinks, never crosses into
// another filesystem (a mount point below `path` is an error, not something to empty),
// and makes directories writable first so read-only trees go too. Depth is not limited
// by the number of open files. A missing `path` is not an error.
void remove_tree(const std::filesystem::path& path);
// Same, but keeps the directory `dir` itself (empty afterwards).
void remove_tree_contents(const std::filesystem::path& dir);

// Creates `dir` and its missing parents with `mode`; existing directories are left as
// they are. Throws Error(70) naming the directory that could not be made.
void make_dirs(const std::filesystem::path& dir, mode_t mode = 0700);

// The whole content of a small file (a control file, a state file, a log); nullopt when
// it does not exist or cannot be read.
std::optional<std::string> read_file(const std::filesystem::path& path);
// Its first line without the newline; empty when unreadable (sysctls, /proc knobs).
std::string read_first_line(const std::filesystem::path& path);

// The names in the directory `dirfd` (without "." and ".."), sorted so that walks are
// reproducible. `shown` names the directory in errors (Error 70).
std::vector<std::string> sorted_dir_names(int dirfd, const std::string& shown);
// Writes all of `data`, retrying short writes and EINTR. Throws Error(70) naming `shown`.
void write_all(int fd, const char* data, std::size_t size, const std::filesystem::path& shown);

// The real path of `path` (every symlink resolved), read back from the descriptor the
// kernel opened (O_PATH, /proc/self/fd) rather than worked out from strings, so that what
// is checked is what was opened. When `keep` is given, the O_PATH descriptor is left there
// for a caller that opens the same file through it. nullopt (errno set) when it cannot be
// opened.

std::optional<std::filesystem::path> real_path(const std::filesystem::path& path, Fd* keep = nullptr);
// Whether `path` is `dir` or below it, comparing whole components ("/usr/shared" is not
// inside "/usr/share"). Both must be normalised absolute paths.
bool path_inside(const std::filesystem::path& path, const std::filesystem::path& dir);

// A mount point as /proc/self/mounts and mountinfo write it, with space, tab, newline and
// backslash escaped as \ooo, turned back into the path.
std::string unescape_mount_field(std::string_view s);

// The options of an overlayfs mount ("lowerdir=..,upperdir=..,workdir=.."). Error(65) when a
// path holds ',', ':' or '\\', which those options cannot carry (the cache dir decides them).
std::string overlay_options(const std::string& lower, const std::string& upper, const std::string& work);

// What kind of file `mode` describes, for messages: "a FIFO (named pipe)", "a directory", …
std::string_view file_kind(mode_t mode);

// Opens a file the user named (a rootfs image, a profile, a kernel) for reading without
// ever blocking on, or acting on, something that is not a regular file: an open() of a
// FIFO waits for a writer forever (with SIGINT and SIGTERM blocked, see util/interrupt.hpp),
// and opening a device can act on it. So: lstat, then open with O_NONBLOCK|O_NOFOLLOW, then
// fstat what was opened. A symlink is resolved first and its target checked the same way.
// Anything but a regular file (or a directory, when `allow_dir`) is Error(code) naming
// `what`, the path and what it is; so is a failed call.
Fd open_regular_file(const std::filesystem::path& path, std::string_view what, ExitCode code, bool allow_dir = false);

// A private directory (mkdtemp, mode 0700) removed with everything in it when the
// object goes away, unless release() was called.
class TempDir {
 public:
  explicit TempDir(const std::filesystem::path& parent, std::string_view prefix = "gatebox-");
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  TempDir(TempDir&& o) noexcept;
  TempDir& operator=(TempDir&& o) noexcept;
  ~TempDir();

  const std::filesystem::path& path() const { return path_; }
  // Keeps the directory on disk; the caller owns it from now on.
  std::filesystem::path release();

 private:
  void remove_now() noexcept;
  std::filesystem::path path_;
};

}  // namespace gatebox
