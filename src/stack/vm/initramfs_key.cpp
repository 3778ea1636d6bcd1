#include <fmt/format.h>

#include "rootfs/cache_layout.hpp"
#include "stack/vm/initramfs_detail.hpp"
#include "stack/vm/job.hpp"
#include "util/sha256.hpp"

namespace gatebox::vm {
namespace {

// Bumped when the layout of the base image changes. Format 1 was zstd-compressed: under TCG
// the guest kernel took longer to decompress a large tree (≈ 14 s for 900 MB) than a
// run's copy of the uncompressed image costs the host (≈ 0.5 s).
constexpr std::string_view kBaseFormat = "2";
constexpr std::string_view kBasePrefix = "initramfs-";
constexpr std::string_view kBaseSuffix = ".cpio";
// Format 1's name: still recognised, so that `gatebox cache prune|clear` removes such images.
constexpr std::string_view kLegacySuffix = ".cpio.zst";

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
  if (name.ends_with(kRamRecordSuffix)) name.remove_suffix(kRamRecordSuffix.size());
  const std::string_view suffix = name.ends_with(kLegacySuffix) ? kLegacySuffix : kBaseSuffix;
  if (name.size() < kBasePrefix.size() + suffix.size() + 1 + kKeyLength || !name.starts_with(kBasePrefix) ||
      !name.ends_with(suffix)) {
    return "";
  }
  name.remove_prefix(kBasePrefix.size());
  name.remove_suffix(suffix.size());
  if (!is_sha256_hex(name.substr(name.size() - kKeyLength)) || name[name.size() - kKeyLength - 1] != '-') return "";
  std::string_view id = name.substr(0, name.size() - kKeyLength - 1);
  std::string_view digest = id.rfind("dir-", 0) == 0 ? id.substr(4) : id;
  return is_sha256_hex(digest) ? std::string(id) : "";
}

}  // namespace gatebox::vm
