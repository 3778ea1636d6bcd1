#pragma once
// Internal to the VM stacks: the cache key and name of the base initramfs, exposed for tests.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace gatebox::vm {

// sha256 of the builder's format, the rootfs identity, the agent's digest and kAgentProtocol.
std::string base_key(std::string_view rootfs_id, std::string_view agent_sha);

// "initramfs-<rootfs id>-<key>.cpio": the rootfs identity (rootfs_identity) in the name
// lets `gatebox cache prune|clear` drop the images of trees that left the cache.
std::string base_initramfs_name(std::string_view rootfs_id, std::string_view key);
// Beside each base image, what its tree takes in the guest's RAM (base_initramfs_ram_bytes).
inline constexpr std::string_view kRamRecordSuffix = ".ram";
// The rootfs identity in such a name (or in its RAM record's); empty for any other name.
std::string rootfs_id_of_base_initramfs(std::string_view name);

}  // namespace gatebox::vm
