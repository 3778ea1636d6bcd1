#pragma once
// Exit statuses as container runtimes report them, shared by the stacks that talk to one
// (docker, kubernetes).
#include <optional>
#include <string_view>

#include "stack/stack.hpp"

namespace gatebox {

// The outcome's exit_code/signal from a runtime's exit code: Docker and containerd report a
// death by signal N as 128+N, like a shell; so does a gate that calls exit(128+N), which
// cannot be told apart.
void apply_exit_status(RunOutcome& outcome, long long runtime_exit_code);

// 127 or 126 when a runtime's start failure ("exec: ...: executable file not found",
// "permission denied") is the gate's argv[0], not the sandbox; nullopt otherwise.
std::optional<int> exec_failure_code(std::string_view runtime_message);

}  // namespace gatebox
