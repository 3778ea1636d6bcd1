#pragma once
// stack.kind = "auto": which stack runs this gate (issue 9). A pure decision over what is
// known about each stack here — availability, isolation class, the probe's feature matrix
// under the gate's seccomp policy, the measured cold start — and the site policy.
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "policy/site_policy.hpp"
#include "profile/profile.hpp"
#include "stack/stack.hpp"

namespace gatebox {

struct StackCandidate {
  std::string name;
  Availability availability;
  Isolation isolation = Isolation::kernel;
  // Feature -> "works" | "denied (EPERM)" | "absent ..." under the profile's seccomp policy;
  // nullopt when this stack was not probed (only needed when the profile requires features).
  std::optional<std::map<std::string, std::string>> features;
  double cold_start_ms = 0;  // measured here when known, else the stack's typical figure
  bool measured = false;
  std::string skipped;       // not looked at, and why (a faster stack already fits)
};

struct RouteDecision {
  std::string stack;
  std::string why;                                           // one line, for the verdict line and report
  std::vector<std::pair<std::string, std::string>> rejected;  // every other stack, with its reason
};

// Feature names as the probe spells them ("docker_build"); profiles may write "docker-build".
std::string canonical_feature(std::string_view name);

// Keeps the candidates that the site policy allows, that meet both the profile's and the
// policy's isolation class and that show every required feature working; picks the lowest
// cold start. Throws Error(69) listing, for each stack, the requirement it misses.
RouteDecision route(const Profile& profile, const SitePolicy& policy, const std::vector<StackCandidate>& candidates);
// Whether `candidate` alone could take the gate.
bool fits(const Profile& profile, const SitePolicy& policy, const StackCandidate& candidate);

}  // namespace gatebox
