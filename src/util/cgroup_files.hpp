#pragma once
// Reading a cgroup's memory counters, for the stacks that learn of an OOM kill from the
// cgroup itself rather than (only) from their runtime.
#include <filesystem>
#include <optional>
#include <string_view>

namespace gatebox {

// "oom_kill 3" in a memory.events (v2) or memory.oom_control (v1) text -> 3 (0 when absent).
unsigned long parse_oom_kill_count(std::string_view text);

// The OOM kills counted in the memory cgroup `dir` (memory.events, else memory.oom_control);
// nullopt when neither file can be read there.
std::optional<unsigned long> read_oom_kills(const std::filesystem::path& dir);

}  // namespace gatebox
