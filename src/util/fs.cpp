#include "util/fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include "util/error.hpp"
#include "util/fd.hpp"

namespace gatebox {
namespace {

namespace fs = std::filesystem;

struct Frame {
  std::string name;  // in the parent directory
  dev_t dev;
  ino_t ino;
  std::vector<std::string> subdirs;  // still to be removed
};

std::string shown_path(const fs::path& top, const std::vector<Frame>& stack, std::string_view last = {}) {
  fs::path p = top;
  for (std::size_t i = 1; i < stack.size(); ++i) p /= stack[i].name;
  if (!last.empty()) p /= std::string(last);
  return p.string();
}

struct stat stat_fd(int fd, const std::string& shown) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw sys_error("fstat", shown);
  return st;
}

// Opens a directory whose entries are about to be removed, and gives its owner rwx on it:
// trees unpacked from images may hold directories with mode 0555 or even 0.
Fd open_for_removal(int parent, const std::string& name, dev_t top_dev, const std::string& shown) {
  constexpr int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  Fd fd(::openat(parent, name.c_str(), flags));
  if (!fd && errno == EACCES) {
    struct stat st {};
    // Checked first so that chmod (which follows symlinks) only ever touches a directory.
    if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
      if (::fchmodat(parent, name.c_str(), 0700, 0) != 0) throw sys_error("chmod", shown);
      fd.reset(::openat(parent, name.c_str(), flags));
    }
  }
  if (!fd) throw sys_error("open", shown);
  struct stat st = stat_fd(fd.get(), shown);
  if (st.st_dev != top_dev) {
    throw make_error(ExitCode::internal, "not removing {}: it is a mount point (unmount it first)", shown);
  }
  if ((st.st_mode & 0700) != 0700 && ::fchmod(fd.get(), (st.st_mode & 07777) | 0700) != 0) {
    throw sys_error("chmod", shown);
  }
  return fd;
}

// Unlinks every entry of `dir` that is not a directory; returns the subdirectories.
std::vector<std::string> unlink_files(int dir, const std::string& shown) {
  int copy = ::fcntl(dir, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) throw sys_error("dup", shown);
  DIR* d = ::fdopendir(copy);
  if (d == nullptr) {
    ::close(copy);
    throw sys_error("fdopendir", shown);
  }
  std::vector<std::string> files, subdirs;
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    unsigned char type = e->d_type;
    if (type == DT_UNKNOWN) {
      struct stat st {};
      if (::fstatat(dir, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) type = S_ISDIR(st.st_mode) ? DT_DIR : DT_REG;
    }
    (type == DT_DIR ? subdirs : files).emplace_back(name);
  }
  int read_err = errno;
  ::closedir(d);
  if (read_err != 0) throw sys_error("readdir", shown, read_err);
  for (const std::string& f : files) {
    if (::unlinkat(dir, f.c_str(), 0) != 0 && errno != ENOENT) throw sys_error("unlink", shown + "/" + f);
  }
  return subdirs;
}

// Empties the directory `top` (an fd opened by open_for_removal). Walks down with one
// open directory at a time and climbs back through "..", checking that each parent is
// still the one it came from, so arbitrarily deep trees need no more file descriptors.
void empty_directory(Fd top, const fs::path& shown_top) {
  struct stat st = stat_fd(top.get(), shown_top.string());
  const dev_t top_dev = st.st_dev;
  std::vector<Frame> stack;
  stack.push_back({"", st.st_dev, st.st_ino, unlink_files(top.get(), shown_top.string())});
  Fd cur = std::move(top);
  for (;;) {
    Frame& frame = stack.back();
    if (!frame.subdirs.empty()) {
      std::string name = std::move(frame.subdirs.back());
      frame.subdirs.pop_back();
      std::string shown = shown_path(shown_top, stack, name);
      Fd child = open_for_removal(cur.get(), name, top_dev, shown);
      struct stat cst = stat_fd(child.get(), shown);
      std::vector<std::string> subdirs = unlink_files(child.get(), shown);
      stack.push_back({std::move(name), cst.st_dev, cst.st_ino, std::move(subdirs)});
      cur = std::move(child);
      continue;
    }
    if (stack.size() == 1) return;
    std::string shown = shown_path(shown_top, stack);
    Fd parent(::openat(cur.get(), "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!parent) throw sys_error("open", shown + "/..");
    std::string name = std::move(stack.back().name);
    stack.pop_back();
    struct stat pst = stat_fd(parent.get(), shown + "/..");
    if (pst.st_dev != stack.back().dev || pst.st_ino != stack.back().ino) {
      throw make_error(ExitCode::internal, "not removing {}: the tree was moved while being removed", shown);
    }
    if (::unlinkat(parent.get(), name.c_str(), AT_REMOVEDIR) != 0) throw sys_error("rmdir", shown);
    cur = std::move(parent);
  }
}

// Splits `path` into an fd of its parent directory and its last component.
std::pair<Fd, std::string> open_parent(const fs::path& path) {
  fs::path p = path.lexically_normal();
  if (!p.has_filename()) p = p.parent_path();  // "dir/" → "dir"
  fs::path parent = p.has_parent_path() ? p.parent_path() : fs::path(".");
  Fd fd(::open(parent.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw sys_error("open", parent.string());
  return {std::move(fd), p.filename().string()};
}

}  // namespace

void remove_tree(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    throw sys_error("stat", path.string());
  }
  auto [parent, name] = open_parent(path);
  if (!S_ISDIR(st.st_mode)) {
    if (::unlinkat(parent.get(), name.c_str(), 0) != 0 && errno != ENOENT) throw sys_error("unlink", path.string());
    return;
  }
  empty_directory(open_for_removal(parent.get(), name, st.st_dev, path.string()), path);
  if (::unlinkat(parent.get(), name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    throw sys_error("rmdir", path.string());
  }
}

void remove_tree_contents(const fs::path& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) throw sys_error("stat", dir.string());
  if (!S_ISDIR(st.st_mode)) throw make_error(ExitCode::internal, "{} is not a directory", dir.string());
  auto [parent, name] = open_parent(dir);
  empty_directory(open_for_removal(parent.get(), name, st.st_dev, dir.string()), dir);
}

void make_dirs(const fs::path& dir, mode_t mode) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return;
    throw make_error(ExitCode::internal, "{} exists and is not a directory", dir.string());
  }
  fs::path parent = dir.lexically_normal().parent_path();
  if (!parent.empty() && parent != dir) make_dirs(parent, mode);
  if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) throw sys_error("mkdir", dir.string());
}

TempDir::TempDir(const fs::path& parent, std::string_view prefix) {
  std::string templ = (parent / (std::string(prefix) + "XXXXXX")).string();
  if (::mkdtemp(templ.data()) == nullptr) throw sys_error("mkdtemp", templ);
  path_ = templ;
}

TempDir::TempDir(TempDir&& o) noexcept : path_(std::exchange(o.path_, {})) {}

TempDir& TempDir::operator=(TempDir&& o) noexcept {
  if (this != &o) {
    remove_now();
    path_ = std::exchange(o.path_, {});
  }
  return *this;
}

TempDir::~TempDir() { remove_now(); }

fs::path TempDir::release() { return std::exchange(path_, {}); }

void TempDir::remove_now() noexcept {
  if (path_.empty()) return;
  try {
    remove_tree(path_);
  } catch (const std::exception&) {
    // A destructor cannot report; `gatebox cache prune` sweeps what is left.
  }
  path_.clear();
}

std::optional<std::string> read_file(const std::filesystem::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

std::string_view file_kind(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return "a regular file";
    case S_IFDIR: return "a directory";
    case S_IFLNK: return "a symbolic link";
    case S_IFIFO: return "a FIFO (named pipe)";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFSOCK: return "a socket";
  }
  return "a file of unknown type";
}

Fd open_regular_file(const std::filesystem::path& path, std::string_view what, ExitCode code, bool allow_dir) {
  const std::string shown = fmt::format("{} {}", what, path.string());
  auto check_kind = [&](const struct stat& st, const std::string& where) {
    if (S_ISREG(st.st_mode) || (allow_dir && S_ISDIR(st.st_mode))) return;
    throw make_error(code, "{}: is {}, not a regular file{}", where, file_kind(st.st_mode),
                     allow_dir ? " or a directory" : "");
  };
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) throw sys_error("lstat", shown, errno, code);
  fs::path real = path;
  std::string where = shown;
  if (S_ISLNK(st.st_mode)) {
    // realpath leaves no symlink in `real`, so the O_NOFOLLOW open below opens what this
    // lstat saw, or fails if it was swapped meanwhile.
    std::error_code ec;
    real = fs::canonical(path, ec);
    if (ec) throw sys_error("resolve symlink", shown, ec.value(), code);
    where = fmt::format("{} (-> {})", shown, real.string());
    if (::lstat(real.c_str(), &st) != 0) throw sys_error("lstat", where, errno, code);
  }
  check_kind(st, where);
  Fd fd(::open(real.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) throw sys_error("open", where, errno, code);
  if (::fstat(fd.get(), &st) != 0) throw sys_error("fstat", where, errno, code);
  check_kind(st, where);
  return fd;
}

std::string read_first_line(const std::filesystem::path& path) {
  std::string text = read_file(path).value_or("");
  return text.substr(0, text.find('\n'));
}

std::vector<std::string> sorted_dir_names(int dirfd, const std::string& shown) {
  int copy = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) throw sys_error("dup", shown);
  DIR* d = ::fdopendir(copy);
  if (d == nullptr) {
    ::close(copy);
    throw sys_error("fdopendir", shown);
  }
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) throw sys_error("readdir", shown, err);
  std::sort(names.begin(), names.end());
  return names;
}

void write_all(int fd, const char* data, std::size_t size, const std::filesystem::path& shown) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw sys_error("write", shown.string());
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

std::optional<fs::path> real_path(const fs::path& path, Fd* keep) {
  Fd fd(::open(path.c_str(), O_PATH | O_CLOEXEC));
  if (!fd) return std::nullopt;
  char link[64];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd.get());
  std::string target(PATH_MAX, '\0');
  const ssize_t n = ::readlink(link, target.data(), target.size());
  if (n <= 0 || static_cast<std::size_t>(n) >= target.size()) {
    if (n >= 0) errno = ENAMETOOLONG;
    return std::nullopt;
  }
  target.resize(static_cast<std::size_t>(n));
  // The kernel marks a file removed since it was opened; its old name proves nothing.
  if (target.front() != '/' || target.ends_with(" (deleted)")) {
    errno = ENOENT;
    return std::nullopt;
  }
  if (keep != nullptr) *keep = std::move(fd);
  return fs::path(target);
}

std::string unescape_mount_field(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() &&
        std::all_of(s.begin() + i + 1, s.begin() + i + 4, [](char c) { return c >= '0' && c <= '7'; })) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool path_inside(const fs::path& path, const fs::path& dir) {
  auto [d, p] = std::mismatch(dir.begin(), dir.end(), path.begin(), path.end());
  (void)p;
  // "/srv/" iterates with an empty last component; treat it as "/srv".
  return d == dir.end() || (std::next(d) == dir.end() && d->empty());
}

std::string overlay_options(const std::string& lower, const std::string& upper, const std::string& work) {
  for (const std::string* path : {&lower, &upper, &work}) {
    if (path->find_first_of(",:\\") != std::string::npos) {
      throw make_error(ExitCode::bad_input, "path '{}' holds ',', ':' or '\\', which overlayfs options cannot carry; "
                       "use another --cache-dir", *path);
    }
  }
  return fmt::format("lowerdir={},upperdir={},workdir={}", lower, upper, work);
}

}  // namespace gatebox
