// Checking the profile's bind mounts against the host, once, before any stack starts.
#include "policy/mounts.hpp"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>

#include "util/error.hpp"

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

std::string real_source(const Profile& profile, const MountSpec& spec, std::size_t number) {
  std::filesystem::path source = spec.source;
  if (source.is_relative()) source = profile.base_dir / source;
  std::unique_ptr<char, decltype(&free)> real(realpath(source.c_str(), nullptr), &free);
  if (!real) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      throw make_error(ExitCode::bad_input, "mount {}: source '{}' does not exist", number, printable(source.string()));
    }
    throw make_error(ExitCode::bad_input, "mount {}: source '{}': realpath: {}", number, printable(source.string()),
                     std::strerror(err));
  }
  return real.get();
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

    ResolvedMount mount;
    mount.target = checked_target(spec, number);
    for (std::size_t j = 0; j < mounts.size(); ++j) {
      if (mounts[j].target == mount.target) {
        throw make_error(ExitCode::bad_input, "mount {}: target '{}' is already the target of mount {}", number,
                         mount.target, j + 1);
      }
    }

    mount.source = real_source(profile, spec, number);
    struct stat st {};
    if (stat(mount.source.c_str(), &st) != 0) {
      throw sys_error("stat", mount.source, errno, ExitCode::bad_input);
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

}  // namespace gatebox
