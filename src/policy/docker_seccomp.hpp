#pragma once
// A SeccompPolicy in Docker's seccomp profile format (what `docker run --security-opt
// seccomp=FILE` reads and the Engine API takes in HostConfig.SecurityOpt).
#include <nlohmann/json.hpp>

#include "policy/seccomp.hpp"

namespace gatebox {

// x86_64 only, like the BPF program: with no subArchitectures listed, Docker's runtime
// answers i386 and x32 calls with its bad-architecture action instead of these rules.
// Unconfined renders as a profile whose default action allows everything.
nlohmann::json render_docker_seccomp(const SeccompPolicy& policy);

}  // namespace gatebox
