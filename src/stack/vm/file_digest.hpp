#pragma once
// Internal to the VM stacks: digests of the kernel and the agent, remembered between runs.
// Both files are megabytes and are part of a cache key on every run; hashing them each
// time would cost tens of milliseconds of cold start for a file that almost never changes.
#include <filesystem>
#include <string>

namespace gatebox::vm {

// The sha256 of the open file `fd` (shown as `path` in errors), remembered under
// <cache_dir>/vm/index/ by (path, device, inode, size, mtime, ctime): any write or chmod
// changes the ctime, so a changed file is hashed again.
std::string remembered_sha256(int fd, const std::filesystem::path& path, const std::filesystem::path& cache_dir);

// <cache_dir>/vm, created (0700) when missing.
std::filesystem::path vm_cache_dir(const std::filesystem::path& cache_dir);

// Removes "<name>.tmp-<pid>" files in `dir` whose writer has exited (a SIGKILLed build).
void sweep_stale_temp_files(const std::filesystem::path& dir);

}  // namespace gatebox::vm
