#pragma once
// What the image says about the gate's environment, applied once for every stack so that a
// gate sees the same variables whichever stack runs it (docs/ARCHITECTURE.md §1.6, §5).
#include <filesystem>
#include <optional>
#include <string>

#include "profile/profile.hpp"

namespace gatebox {

// The home directory of `uid` in the tree's /etc/passwd, read beneath the tree (a symlink
// in the image never leads out of it); nullopt when the file or the user is missing, or the
// file is not a regular file of at most 1 MiB.
std::optional<std::string> image_home(const std::filesystem::path& tree, std::uint32_t uid);

// Sets HOME and HOSTNAME in run.env where the profile does not: HOME the user's home from
// the image's /etc/passwd, else "/" (Docker's rule, which docker and gVisor applied on
// their own and native and the VMs did not); HOSTNAME run.hostname (which Docker and the
// kubelet set, and the other stacks did not).
void apply_image_environment(Profile& profile, const std::filesystem::path& tree);

}  // namespace gatebox
