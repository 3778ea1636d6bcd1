#pragma once
// Internal to the VM stacks: the kernel search of kernel.hpp with the host's places made
// explicit, so tests can point it at a fake /boot.
#include <filesystem>
#include <optional>
#include <string>

#include "stack/vm/kernel.hpp"

namespace gatebox::vm {

struct KernelPlaces {
  std::string configured;              // the profile's stack.<vmm>.kernel
  std::optional<std::string> env;      // GATEBOX_KERNEL, when set
  std::string release;                 // uname -r
  std::filesystem::path boot = "/boot";
  std::filesystem::path root_link = "/vmlinuz";  // Debian's symlink to the current kernel
};

KernelPlaces host_kernel_places(const std::string& configured);

// Empty path + `reason` (naming every place looked at) when nothing usable is found.
KernelChoice search_kernel(const KernelPlaces& places, std::string& reason);

// The bzImage's compressed payload: where it is in the file and how long.
struct BzPayload {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};
// Parses the x86 boot protocol's setup header (`head` = the file's first bytes, at least
// 0x250 of them when the file has them). Throws Error(69) saying what is wrong.
BzPayload parse_bzimage(std::string_view head, std::uint64_t file_size, const std::filesystem::path& shown);

}  // namespace gatebox::vm
