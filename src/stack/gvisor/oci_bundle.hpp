#pragma once
// The OCI bundle's config.json for one run, rendered from the resolved profile. Pure data
// in, JSON out, so every field can be checked by a unit test without runsc.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/mounts.hpp"
#include "policy/seccomp.hpp"
#include "profile/profile.hpp"

namespace gatebox {

struct BundleInput {
  const Profile& profile;
  // The run's overlay of the cached tree (its gofer writes mount points there, never into
  // the tree itself).
  std::filesystem::path rootfs_dir;
  const SeccompPolicy& seccomp;
  const std::vector<ResolvedMount>& mounts;
  std::string run_id;
  // Host directory bound at the parent of verdict.file (a small tmpfs gatebox mounted), so
  // that the file outlives the sandbox; empty when verdict.file is not set.
  std::string verdict_source;
  // runsc wraps the root in its memory-backed overlay (--overlay2=root:memory). gVisor then
  // needs root.readonly = false, or the overlay refuses writes with EROFS. Without an
  // overlay the root stays read-only.
  bool overlay = true;
  // A host directory (in the run dir) holding etc_files(), each bound read-only at
  // /etc/<name>; empty: none.
  std::string etc_source;
};

// linux.cgroupsPath of a run: one parent for every gatebox run, so leftovers are findable.
std::string gvisor_cgroups_path(const std::string& run_id);

// Docker's default masked and read-only /proc and /sys paths.
const std::vector<std::string>& default_masked_paths();
const std::vector<std::string>& default_readonly_paths();

nlohmann::json render_oci_config(const BundleInput& in);

// Writes <dir>/config.json (mode 0600). Throws Error(70) naming the path.
void write_oci_config(const std::filesystem::path& dir, const nlohmann::json& config);

}  // namespace gatebox
