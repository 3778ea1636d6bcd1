// Rendering a SeccompPolicy as OCI linux.seccomp, on top of the Docker renderer.
#include "policy/oci_seccomp.hpp"

#include "policy/docker_seccomp.hpp"

namespace gatebox {

std::optional<nlohmann::json> render_oci_seccomp(const SeccompPolicy& policy) {
  // A runtime given no linux.seccomp installs no filter; an allow-all filter would still
  // cost a BPF run per system call.
  if (policy.unconfined) return std::nullopt;
  nlohmann::json seccomp = render_docker_seccomp(policy);
  for (nlohmann::json& entry : seccomp["syscalls"]) {
    if (!entry.contains("args")) entry["args"] = nlohmann::json::array();
  }
  return seccomp;
}

}  // namespace gatebox
