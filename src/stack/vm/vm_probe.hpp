#pragma once
// The guest half of a VM stack's probe, the same for both VMMs: a kernel and the agent.
#include <string>

#include "stack/stack.hpp"

namespace gatebox::vm {

// Adds {"kernel", ...} and {"agent", ...} to `a.details`; sets `a.reason` (and returns
// false) when either is missing.
bool probe_guest_parts(const std::string& configured_kernel, Availability& a);

}  // namespace gatebox::vm
