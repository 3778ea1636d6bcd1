#pragma once
#include <memory>

#include "stack/stack.hpp"

namespace gatebox {
std::unique_ptr<Stack> make_firecracker_stack();
}  // namespace gatebox
