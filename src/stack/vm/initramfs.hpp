#pragma once
// The guest's root file system: an initramfs (cpio newc) made of the cached rootfs tree plus
// the static agent, cached by (rootfs digest, agent digest); and a small per-run cpio with
// the job and the read-only mounts, appended to a copy of it.
#include <filesystem>
#include <string>
#include <vector>

#include "policy/mounts.hpp"
#include "rootfs/rootfs.hpp"
#include "stack/vm/job.hpp"
#include "util/fs.hpp"

namespace gatebox::vm {

// The agent binary gatebox installs into every guest: GATEBOX_AGENT, else gatebox-init
// next to the running gatebox executable (build tree and `make install` both put it there),
// else <prefix>/lib/gatebox/gatebox-init. Throws Error(69) saying where it looked.
std::filesystem::path find_agent();

// The cached base image for `tree` + `agent`: <cache_dir>/vm/initramfs-<id>-<key>.cpio
// (key = sha256 of rootfs digest, agent file digest, kAgentProtocol). Built once (atomic
// rename; flock against concurrent builders), with progress on `progress` when long.
// Holds every file, directory and symlink of the tree with its owner, mode and times; the
// agent at kAgentPath (mode 0700, root).
std::filesystem::path base_initramfs(const RootfsTree& tree, const std::filesystem::path& agent,
                                     const std::filesystem::path& cache_dir);

// What the tree in `base` takes in the guest's RAM once unpacked (file data rounded up to
// pages, plus a page per entry), as base_initramfs recorded it beside the image
// (<base>.ram); for an image cached without that record, its size plus a quarter.
std::uint64_t base_initramfs_ram_bytes(const std::filesystem::path& base);

// Writes the run's initramfs to `out`: a copy of `base` (copy_file_range) followed by an
// uncompressed cpio holding kJobPath (mode 0600) and, for every mount, the source tree at its
// target. The kernel unpacks concatenated archives in order, later entries overriding.
// Mount sources are read without following symlinks out of them. Throws Error(65/70).
void write_run_initramfs(const std::filesystem::path& base, const Job& job,
                         const std::vector<ResolvedMount>& mounts, const std::filesystem::path& out);

}  // namespace gatebox::vm
