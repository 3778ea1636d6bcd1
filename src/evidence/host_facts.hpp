#pragma once
// What `gatebox stacks` says about the host itself, beside each stack's own probe: KVM,
// the cgroup layout, user namespaces, Yama's ptrace scope and the versions of the peer
// tools (runsc, qemu, firecracker). Everything is read or tried here, quickly, and leaves
// nothing behind.
#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gatebox {

// The "host" object of `gatebox stacks --json` (its fields are listed in gatebox(1)).
nlohmann::json host_facts();

// The same as "key: value" lines for the text output, in a fixed order.
std::vector<std::pair<std::string, std::string>> host_fact_lines(const nlohmann::json& facts);

// The first line `binary args...` prints (stdout, else stderr), or empty when it is not on
// PATH, fails, or takes longer than `limit`. Kills it on expiry.
std::string tool_version_line(const std::string& binary, const std::vector<std::string>& args,
                              std::chrono::milliseconds limit = std::chrono::milliseconds(3000));

}  // namespace gatebox
