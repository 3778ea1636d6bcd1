#pragma once
// The profile's bind mounts, checked against the host once for every stack: sources exist,
// are resolved to real paths, targets are absolute, normalised and unique, and none hides
// what the sandbox itself provides (/proc, /dev).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "profile/profile.hpp"
#include "util/sandbox_path.hpp"

namespace gatebox {

struct ResolvedMount {
  std::string source;  // real path on the host (symlinks resolved)
  std::string target;  // normalised absolute path in the sandbox
  bool readonly = true;
  bool is_dir = true;
};

// Throws Error(65) naming the mount ("mount 2: ..."), counting from 1 in profile order.
// The result is ordered so that a mount comes after every mount whose target contains it
// (otherwise the outer one would hide it); mounts at the same depth keep profile order.
std::vector<ResolvedMount> resolve_mounts(const Profile& profile);


}  // namespace gatebox
