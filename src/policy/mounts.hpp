#pragma once
// The profile's bind mounts, checked against the host once for every stack: sources exist,
// are resolved to real paths, targets are absolute, normalised and unique, and none hides
// what the sandbox itself provides (/proc, /dev).
#include <string>
#include <vector>

#include "profile/profile.hpp"

namespace gatebox {

struct ResolvedMount {
  std::string source;  // real path on the host (symlinks resolved)
  std::string target;  // normalised absolute path in the sandbox
  bool readonly = true;
  bool is_dir = true;
};

// Throws Error(65) naming the mount.
std::vector<ResolvedMount> resolve_mounts(const Profile& profile);

// "/a/./b//c/" -> "/a/b/c"; nullopt for a relative path or one containing "..".
std::optional<std::string> normalize_sandbox_path(std::string_view path);

}  // namespace gatebox
