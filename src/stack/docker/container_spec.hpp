#pragma once
// The body of POST /containers/create for one run, rendered from the resolved profile:
// everything the profile enforces, expressed in the Engine API's terms.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/mounts.hpp"
#include "policy/seccomp.hpp"
#include "profile/profile.hpp"

namespace gatebox {

struct ContainerSpecInput {
  const Profile& profile;
  const SeccompPolicy& seccomp;
  const std::vector<ResolvedMount>& mounts;
  std::string image;   // "gatebox/rootfs:<tag>"
  std::string run_id;
  std::string host_id;  // which machine's gatebox owns it (the sweep only touches its own)
};

// Throws Error(65) for a mount the Binds syntax cannot carry (a ':' or ',' in a path).
nlohmann::json render_container_create(const ContainerSpecInput& in);

// The container's name for a run.
std::string container_name(const std::string& run_id);

}  // namespace gatebox
