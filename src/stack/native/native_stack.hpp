#pragma once
#include <memory>

#include "stack/stack.hpp"

namespace gatebox {
// The embedded default stack: namespaces, overlay, libseccomp, cgroups
// (docs/ARCHITECTURE.md §4.5).
std::unique_ptr<Stack> make_native_stack();
}  // namespace gatebox
