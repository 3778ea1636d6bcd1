// Checking the profile's bind mounts against the host, once, before any stack starts.
#include "policy/mounts.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>

#include "util/error.hpp"
#include "util/fs.hpp"

namespace gatebox {
namespace {

// Filesystems every stack mounts itself; a bind over them would hide or replace them.
constexpr std::array<std::string_view, 3> provided_by_sandbox = {"/proc", "/dev", "/sys"};

bool is_inside(std::string_view path, std::string_view dir) {
  return path == dir || (path.starts_with(dir) && path.size() > dir.size() && path[dir.size()] == '/');
}

std::size_t depth(std::string_view path) {
  return path == "/" ? 0 : static_cast<std::size_t>(std::count(path.begin(), path.end(), '/'));
}

// Shown in messages with control characters escaped, so a stray newline cannot fake a line.
std::string printable(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// Opens the source once and reads its real path back from that descriptor (util/fs.hpp),
// so that the path checked here, by the site policy and by every stack is the file that
// was opened; the stacks mount or copy from the descriptor where they can.
ResolvedMount opened_source(const Profile& profile, const MountSpec& spec, std::size_t number) {
  std::filesystem::path source = spec.source;
  if (source.is_relative()) source = profile.base_dir / source;
  Fd fd;
  const std::optional<std::filesystem::path> real = real_path(source, &fd);
  if (!real) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      throw make_error(ExitCode::bad_input, "mount {}: source '{}' does not exist", number, printable(source.string()));
    }
    throw make_error(ExitCode::bad_input, "mount {}: source '{}': open: {}", number, printable(source.string()),
                     std::strerror(err));
  }
  ResolvedMount mount;
  mount.source = real->string();
  mount.fd = std::make_shared<const Fd>(std::move(fd));
  return mount;
}

std::string checked_target(const MountSpec& spec, std::size_t number) {
  auto target = normalize_sandbox_path(spec.target);
  if (!target) {
    throw make_error(ExitCode::bad_input,
                     "mount {}: target '{}' must be an absolute path in the sandbox, without '..' or control "
                     "characters, e.g. \"/src\"",
                     number, printable(spec.target));
  }
  if (*target == "/") {
    throw make_error(ExitCode::bad_input,
                     "mount {}: target '/' would replace the sandbox's root filesystem; mount under a folder "
                     "such as \"/src\", or use [rootfs] dir for a whole tree",
                     number);
  }
  for (std::string_view dir : provided_by_sandbox) {
    if (is_inside(*target, dir)) {
      throw make_error(ExitCode::bad_input,
                       "mount {}: target '{}' is inside {}, which the sandbox provides itself; choose another "
                       "target",
                       number, *target, dir);
    }
  }
  return *target;
}

}  // namespace

std::vector<ResolvedMount> resolve_mounts(const Profile& profile) {
  std::vector<ResolvedMount> mounts;
  for (std::size_t i = 0; i < profile.mounts.size(); ++i) {
    const MountSpec& spec = profile.mounts[i];
    const std::size_t number = i + 1;

    const std::string target = checked_target(spec, number);
    for (std::size_t j = 0; j < mounts.size(); ++j) {
      if (mounts[j].target == target) {
        throw make_error(ExitCode::bad_input, "mount {}: target '{}' is already the target of mount {}", number,
                         target, j + 1);
      }
    }

    ResolvedMount mount = opened_source(profile, spec, number);
    mount.target = target;
    struct stat st {};
    if (::fstat(mount.fd->get(), &st) != 0) {
      throw sys_error("fstat", mount.source, errno, ExitCode::bad_input);
    }
    // A device node would give the gate the host's hardware behind the sandbox's back.
    if (S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode)) {
      throw make_error(ExitCode::bad_input,
                       "mount {}: source '{}' is a device node; devices cannot be bound into the sandbox", number,
                       printable(mount.source));
    }
    mount.is_dir = S_ISDIR(st.st_mode);
    mount.readonly = spec.readonly;
    mounts.push_back(std::move(mount));
  }
  std::stable_sort(mounts.begin(), mounts.end(),
                   [](const ResolvedMount& a, const ResolvedMount& b) { return depth(a.target) < depth(b.target); });
  return mounts;
}

void check_mount_targets(const std::vector<ResolvedMount>& mounts, const std::filesystem::path& tree) {
  for (const ResolvedMount& m : mounts) {
    // A target inside another mount's target lies in that mount's source, not in the tree.
    const bool covered = std::any_of(mounts.begin(), mounts.end(), [&](const ResolvedMount& other) {
      return other.target != m.target && is_inside(m.target, other.target);
    });
    if (covered || m.target.size() < 2) continue;
    for (std::size_t slash = m.target.find('/', 1);; slash = m.target.find('/', slash + 1)) {
      const std::string part = m.target.substr(0, slash);
      const bool last = slash == std::string::npos;
      struct stat st {};
      if (::lstat((tree.string() + part).c_str(), &st) != 0) {
        if (errno == ENOENT) break;  // the stacks create the rest
        throw make_error(ExitCode::internal, "mount target {}: lstat {} in the rootfs: {}", printable(m.target),
                         printable(part), std::strerror(errno));
      }
      const char* problem = nullptr;
      if (S_ISLNK(st.st_mode)) {
        problem = "a symlink";
      } else if (!last && !S_ISDIR(st.st_mode)) {
        problem = "not a directory";
      } else if (last && m.is_dir && !S_ISDIR(st.st_mode)) {
        problem = "not a directory, and the mount's source is one";
      } else if (last && !m.is_dir && S_ISDIR(st.st_mode)) {
        problem = "a directory, and the mount's source is a file";
      }
      if (problem != nullptr) {
        throw make_error(ExitCode::bad_input,
                         "unsafe rootfs: mount target {}: {} is {} in the rootfs; a mount is placed only on a real "
                         "directory (or file, for a file) or where nothing is (choose another target)",
                         printable(m.target), printable(part), problem);
      }
      if (last) break;
    }
  }
}

Fd open_checked_source(const ResolvedMount& m, int flags) {
  std::string path = m.source;
  if (m.fd) {
    path = fmt::format("/proc/self/fd/{}", m.fd->get());
  } else {
    flags |= O_NOFOLLOW;
  }
  Fd fd(::open(path.c_str(), flags | O_CLOEXEC));
  if (!fd) throw sys_error("open", fmt::format("mount {} -> {}", printable(m.source), m.target), errno, ExitCode::bad_input);
  return fd;
}

void check_source_unchanged(const ResolvedMount& m) {
  if (!m.fd) return;
  Fd now_fd;
  const std::optional<std::filesystem::path> now = real_path(m.source, &now_fd);
  struct stat now_st {}, checked_st {};
  const bool same = now && now->string() == m.source && ::fstat(now_fd.get(), &now_st) == 0 &&
                    ::fstat(m.fd->get(), &checked_st) == 0 && now_st.st_dev == checked_st.st_dev &&
                    now_st.st_ino == checked_st.st_ino;
  if (!same) {
    throw make_error(ExitCode::bad_input,
                     "mount {} -> {}: the source changed after gatebox checked it (renamed, or swapped for a "
                     "symlink); nothing was mounted. Keep mount sources still while gatebox runs",
                     printable(m.source), m.target);
  }
}

std::vector<std::string> submounts_below(const std::string& dir, std::string_view mountinfo) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < mountinfo.size()) {
    std::size_t end = mountinfo.find('\n', start);
    if (end == std::string_view::npos) end = mountinfo.size();
    const std::string_view line = mountinfo.substr(start, end - start);
    start = end + 1;
    // "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw": the 5th field.
    std::size_t field = 0;
    for (int i = 0; i < 4 && field != std::string_view::npos; ++i) {
      field = line.find(' ', field);
      if (field != std::string_view::npos) ++field;
    }
    if (field == std::string_view::npos) continue;
    const std::string point = unescape_mount_field(line.substr(field, line.find(' ', field) - field));
    if (point != dir && path_inside(point, dir)) out.push_back(point);
  }
  return out;
}

void refuse_readonly_submounts(const std::vector<ResolvedMount>& mounts, std::string_view stack,
                               std::string_view mountinfo) {
  for (const ResolvedMount& m : mounts) {
    if (!m.readonly || !m.is_dir) continue;
    const std::vector<std::string> below = submounts_below(m.source, mountinfo);
    if (below.empty()) continue;
    throw make_error(ExitCode::bad_input,
                     "mount {} -> {}: {} is a separate mount below the read-only source, and the {} stack can "
                     "only make the top of a bind read-only, so the gate could write into it; unmount it, mount "
                     "a directory with no mounts below it, or use the native stack",
                     printable(m.source), m.target, printable(below.front()), stack);
  }
}

}  // namespace gatebox
