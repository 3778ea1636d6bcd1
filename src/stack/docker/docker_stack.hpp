#pragma once
#include <memory>

#include "stack/stack.hpp"

namespace gatebox {
std::unique_ptr<Stack> make_docker_stack();
}  // namespace gatebox
