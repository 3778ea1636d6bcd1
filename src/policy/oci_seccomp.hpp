#pragma once
// A SeccompPolicy as the OCI runtime spec's `linux.seccomp` object (config.json), which is
// what runsc (with --oci-seccomp), runc and crun read.
#include <optional>

#include <nlohmann/json.hpp>

#include "policy/seccomp.hpp"

namespace gatebox {

// The OCI object shares its shape with Docker's profile (defaultAction, architectures,
// syscalls[{names, action, args[{index, value, valueTwo, op}], errnoRet}]), so it is built
// by the same renderer. What differs: "unconfined" is the absence of the object (nullopt),
// not an allow-all filter, and every syscall entry carries an `args` array.
std::optional<nlohmann::json> render_oci_seccomp(const SeccompPolicy& policy);

}  // namespace gatebox
