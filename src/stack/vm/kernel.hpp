#pragma once
// The guest kernel of the VM stacks (docs/ARCHITECTURE.md §4.5): where it is found, and the
// uncompressed ELF vmlinux both VMMs boot (QEMU through PVH, Firecracker because it
// requires ELF).
#include <filesystem>
#include <string>

namespace gatebox::vm {

struct KernelChoice {
  std::filesystem::path path;  // what was found (bzImage or ELF)
  std::string source;          // how: "stack.qemu.kernel", "GATEBOX_KERNEL", "/boot/vmlinuz-<release>", ...
};

// `configured` (the profile's stack.<vmm>.kernel) wins, then GATEBOX_KERNEL, then
// /boot/vmlinuz-$(uname -r), /boot/vmlinuz, /vmlinuz (Debian's symlink), then the newest
// /boot/vmlinuz-*. Throws Error(69) naming every place looked at and how to fix it
// (`apt-get install linux-image-amd64`, or GATEBOX_KERNEL=...).
KernelChoice find_kernel(const std::string& configured);

// Same search, no throw: empty path + reason when nothing is found. For `gatebox stacks`.
KernelChoice find_kernel_or_reason(const std::string& configured, std::string& reason);

// Refuses (Error 65) a kernel whose sha256 is not `pin`, the site policy's pin of a kernel a
// profile named. The digest is of the file as opened now, just before it is used.
void check_kernel_pin(const std::filesystem::path& kernel, const std::string& pin,
                      const std::filesystem::path& cache_dir);

// The ELF vmlinux for `kernel`: the file itself when it already is ELF; otherwise the
// bzImage's payload, decompressed (gzip/xz/lzma/bzip2/zstd via libarchive's raw format; lz4/lzo kernels need an ELF vmlinux given),
// checked to be an x86-64 ELF, and cached at <cache_dir>/vm/vmlinux-<sha256 of the bzImage>
// (atomic rename; concurrent runs are safe). Throws Error(69/70) with the reason.
std::filesystem::path elf_vmlinux(const std::filesystem::path& kernel,
                                  const std::filesystem::path& cache_dir);

}  // namespace gatebox::vm
