#pragma once
// Internal to the VM stacks: the cache key of the base initramfs, exposed for tests.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace gatebox::vm {

struct TreeScan {
  std::string digest;       // of every entry's (path, type, mode, owner, size, mtime, link target)
  std::uint64_t bytes = 0;  // regular files' data
  std::uint64_t entries = 0;
};

// A walk of `dir` that reads no file contents (lstat and readlink only).
TreeScan scan_tree(const std::filesystem::path& dir);

// sha256 of the builder's format, the rootfs identity, the agent's digest and kAgentProtocol.
std::string base_key(std::string_view rootfs_id, std::string_view agent_sha);

}  // namespace gatebox::vm
