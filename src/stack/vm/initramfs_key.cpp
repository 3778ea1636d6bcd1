#include <fmt/format.h>

#include "rootfs/cache_layout.hpp"
#include "stack/vm/initramfs_detail.hpp"
#include "stack/vm/job.hpp"
#include "util/sha256.hpp"

namespace gatebox::vm {
namespace {

// Bumped when the layout of the base image changes.
constexpr std::string_view kBaseFormat = "1";
constexpr std::string_view kBasePrefix = "initramfs-";
constexpr std::string_view kBaseSuffix = ".cpio.zst";

}  // namespace

std::string base_key(std::string_view rootfs_id, std::string_view agent_sha) {
  return sha256_hex(fmt::format("gatebox initramfs {}\nrootfs {}\nagent {}\nprotocol {}\n", kBaseFormat, rootfs_id,
                                agent_sha, kAgentProtocol));
}

std::string base_initramfs_name(std::string_view rootfs_id, std::string_view key) {
  return fmt::format("{}{}-{}{}", kBasePrefix, rootfs_id, key, kBaseSuffix);
}

std::string rootfs_id_of_base_initramfs(std::string_view name) {
  constexpr std::size_t kKeyLength = 64;
  if (name.size() < kBasePrefix.size() + kBaseSuffix.size() + 1 + kKeyLength || name.rfind(kBasePrefix, 0) != 0 ||
      name.substr(name.size() - kBaseSuffix.size()) != kBaseSuffix) {
    return "";
  }
  name.remove_prefix(kBasePrefix.size());
  name.remove_suffix(kBaseSuffix.size());
  if (!is_sha256_hex(name.substr(name.size() - kKeyLength)) || name[name.size() - kKeyLength - 1] != '-') return "";
  std::string_view id = name.substr(0, name.size() - kKeyLength - 1);
  std::string_view digest = id.rfind("dir-", 0) == 0 ? id.substr(4) : id;
  return is_sha256_hex(digest) ? std::string(id) : "";
}

}  // namespace gatebox::vm
