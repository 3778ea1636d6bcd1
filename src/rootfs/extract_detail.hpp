#pragma once
// Internal to the rootfs stage: extraction from an already open image, with its counts.
#include <cstdint>
#include <filesystem>
#include <string_view>

#include "rootfs/rootfs.hpp"

namespace gatebox {

struct ExtractStats {
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;    // logical size of the regular files written (max_bytes counts more: extract.cpp)
  std::uint64_t skipped = 0;  // devices, FIFOs and sockets, which are never created
};

// Reads the image from `fd` (its current offset); `label` names it in messages. On any
// error `dest` is emptied again before the exception leaves.
ExtractStats extract_archive_fd(int fd, std::string_view label, const std::filesystem::path& dest,
                                const ExtractLimits& limits, const ProgressFn& progress = {});

}  // namespace gatebox
