#pragma once
// The rootfs tree as an OCI image, so that a cluster can pull it from a registry by digest.
// Layer 1 is the tree itself: one uncompressed tar, deterministic (sorted names, the tree's
// modes, numeric owners and mtimes, hard links kept), built once per rootfs and cached under
// <cache>/kubernetes/layers/, so an unchanged rootfs always has the same digests and a
// registry that has them is sent nothing. Layer 2 (only when the profile has read-only
// mounts) carries the mounted host files at their targets: a Job's pod cannot bind-mount
// the gatebox host's paths, so they travel in the image; it is built per run.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "policy/mounts.hpp"
#include "rootfs/rootfs.hpp"

namespace gatebox::kube {

inline constexpr const char* kLayerMediaType = "application/vnd.oci.image.layer.v1.tar";
inline constexpr const char* kConfigMediaType = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* kManifestMediaType = "application/vnd.oci.image.manifest.v1+json";

struct OciBlob {
  std::string digest;  // "sha256:..."
  std::uint64_t size = 0;
  std::string media_type;
  std::filesystem::path file;  // the blob on disk, or
  std::string bytes;           // small blobs in memory
};

struct OciImage {
  OciBlob config;
  std::vector<OciBlob> layers;
  std::string manifest;         // the manifest's JSON, exactly as pushed
  std::string manifest_digest;  // "sha256:..." of `manifest`
  std::filesystem::path temp_dir;  // per-run blobs (the mounts layer); see discard_temp_blobs
};

// Builds (or finds in the cache) the image of `rootfs` plus, when `readonly_mounts` is not
// empty, a layer with their contents. Throws Error(65) when a mount's target passes through
// a symlink or a non-directory of the tree, Error(70) on I/O failures, Error(130/143) when
// interrupted. `progress` gets the bytes of file data written so far and the total.
OciImage build_image(const RootfsTree& rootfs, const std::vector<ResolvedMount>& readonly_mounts,
                     const std::filesystem::path& cache_dir, const ProgressFn& progress = {});

// Removes the per-run blobs of `image` (the cached rootfs layer stays). Never throws.
void discard_temp_blobs(const OciImage& image) noexcept;

// "amd64", "arm64", ...: the host's architecture in OCI's (Go's) spelling.
std::string oci_architecture();

}  // namespace gatebox::kube
