#pragma once
// The cached rootfs tree as a Docker image: imported once, tagged by digest, reused.
//   image rootfs: gatebox/rootfs:<first 16 hex of the image's sha256>, label
//                 gatebox.rootfs=<sha256>.
//   dir rootfs:   no digest exists, so one is made from the tree as it is now
//                 (rootfs_identity in rootfs/tree_identity.hpp):
//                 gatebox/rootfs:dir-<16 hex>, label gatebox.rootfs=dir-<that sha256>.
//                 An edit anywhere in the tree changes an mtime, hence the tag, and the
//                 next run imports anew; the old image goes with `gatebox cache clear`.
#include <filesystem>
#include <string>

#include "rootfs/rootfs.hpp"
#include "stack/docker/docker_client.hpp"

namespace gatebox {

inline constexpr const char* kImageRepo = "gatebox/rootfs";
inline constexpr const char* kRootfsLabel = "gatebox.rootfs";
// The cache whose run imported the image (cache_label_value): `gatebox cache clear` of one
// cache never removes the images another cache's runs use.
inline constexpr const char* kCacheLabel = "gatebox.cache";

struct ImageName {
  std::string label;  // the gatebox.rootfs label's value
  std::string tag;    // after the ':'
  std::string ref() const { return std::string(kImageRepo) + ":" + tag; }
};

// The image of a tree: from its digest, or (dir rootfs) from a walk of the tree.
ImageName rootfs_image_name(const RootfsTree& rootfs);

// The gatebox.cache label's value for a cache directory: 16 hex of the sha256 of its
// absolute, normalised path.
std::string cache_label_value(const std::filesystem::path& cache_dir);

// Makes sure the daemon has the image of `rootfs`, importing it if not (labelled with
// `cache_dir`'s cache_label_value). Returns its ref. Throws Error(70) with the daemon's
// message when the import fails, Error(130/143) when interrupted, unreachable (69) when
// nothing answers.
std::string ensure_rootfs_image(const DockerClient& client, const RootfsTree& rootfs,
                                const std::filesystem::path& cache_dir);

}  // namespace gatebox
