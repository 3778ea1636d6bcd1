#pragma once
// What identifies a rootfs tree to the stacks that take it elsewhere (docker's image import,
// the kubernetes stack's OCI layer, the VM stacks' initramfs): the image file's digest, or
// for a `dir` rootfs (which has none) a digest of the tree's listing as it is now.
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>

#include "rootfs/rootfs.hpp"

namespace gatebox {

struct TreeScan {
  std::string digest;       // of every entry's (path, type, mode, owner, size, mtime, link target)
  std::uint64_t bytes = 0;  // regular files' data
  std::uint64_t entries = 0;
};

// A walk of `dir` in name order that reads no file contents (lstat and readlink only) and
// never follows a symlink. Throws Error(70) when the tree cannot be read.
TreeScan scan_rootfs_tree(const std::filesystem::path& dir);

// The image rootfs's sha256; for a `dir` rootfs "dir-" + scan_rootfs_tree's digest, so that
// an edit anywhere in the tree (a file's size, mode, owner or mtime, a link's target, an
// entry added or removed) gives a new identity.
std::string rootfs_identity(const RootfsTree& rootfs);

// The identities of the image trees in the cache at `cache_dir` (cache_list's digests): what
// the stacks' clear_cache keep their images, layers and initramfs images for.
std::set<std::string> cached_rootfs_identities(const std::filesystem::path& cache_dir);

}  // namespace gatebox
