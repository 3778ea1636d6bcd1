#pragma once
#include <memory>

#include "stack/stack.hpp"

namespace gatebox {
// The embedded default stack: namespaces, overlay, libseccomp, cgroups (DESIGN.md §7).
std::unique_ptr<Stack> make_native_stack();
}  // namespace gatebox
