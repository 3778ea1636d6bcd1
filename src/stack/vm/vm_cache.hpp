#pragma once
// What the VM stacks keep under <cache_dir>/vm besides run dirs: a base initramfs per
// (rootfs, agent) and an ELF vmlinux per kernel. `gatebox cache prune|clear` drops the ones
// nothing will use again; a run never needs them after its VMM started (it boots from a
// hard link and a copy in its own run dir), so removing them never breaks a running gate.
#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace gatebox::vm {

// Removes the base initramfs images whose rootfs identity is not in `kept_rootfs` (`dir`
// trees always: they have no cache entry and rebuild in well under a second; so do files
// of an older naming), and the extracted kernels other than `kept_vmlinux` (a file name,
// or empty for none). A line per file removed.
std::vector<std::string> clear_vm_files(const std::filesystem::path& cache_dir, const std::set<std::string>& kept_rootfs,
                                        const std::string& kept_vmlinux);

// clear_vm_files keeping the rootfs trees still in the cache and the vmlinux of the kernel
// the VM stacks find by default now (GATEBOX_KERNEL, then /boot; a kernel set in a profile
// is extracted again on its next run, a matter of seconds). Never throws.
std::vector<std::string> clear_vm_cache(const std::filesystem::path& cache_dir);

}  // namespace gatebox::vm
