#pragma once
// The rootfs stage: an image file (tar, optionally gzip/xz/zstd/bzip2) becomes a read-only
// tree in a content-addressed cache; a `dir` profile uses an existing tree as it is.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "profile/profile.hpp"
#include "util/fd.hpp"

namespace gatebox {

struct RootfsTree {
  std::filesystem::path dir;  // the read-only tree; never written by a run
  std::string sha256;         // digest of the image file (empty for a `dir` rootfs)
  bool cache_hit = false;     // true when nothing was unpacked
  // Shared lock on the cache entry for as long as the run uses it, so that
  // `gatebox cache prune|clear` never removes a tree under a running gate.
  Fd lock;
  // True when the image was read to compute its digest; false when the cache's index
  // already knew the digest of this unchanged file (or for a `dir` rootfs).
  bool hashed = false;
};

// Where the cache lives: --cache-dir, else $GATEBOX_CACHE, else $XDG_CACHE_HOME/gatebox,
// else ~/.cache/gatebox; /var/cache/gatebox for root.
std::filesystem::path default_cache_dir();

// The command line's --cache-dir for the whole process: default_cache_dir() returns it from
// then on, so that what stacks keep on the side (runsc's features, tool versions) lands in
// the cache the command was given, never in the default one. Empty: no change.
void choose_cache_dir(const std::filesystem::path& dir);

struct ExtractLimits {
  std::uint64_t max_bytes;
  std::uint64_t max_entries;
};

// Progress of a long unpack: bytes read of the image so far, and its total size.
using ProgressFn = std::function<void(std::uint64_t done, std::uint64_t total)>;

// Safe extraction (see extract.cpp for the rules). Throws Error(65) naming the entry on any
// unsafe or malformed input; `dest` must be an empty private directory. A pending SIGINT or
// SIGTERM (see util/interrupt.hpp) aborts it.
void extract_archive(const std::filesystem::path& image, const std::filesystem::path& dest,
                     const ExtractLimits& limits, const ProgressFn& progress = {});
// Same for an archive held in memory (the fuzzer's entry point).
void extract_archive_memory(const void* data, std::size_t size, const std::filesystem::path& dest,
                            const ExtractLimits& limits);

// The rootfs of a profile, unpacked into the cache when needed.
RootfsTree prepare_rootfs(const Profile& profile, const std::filesystem::path& cache_dir,
                          const ProgressFn& progress = {});

struct CacheEntry {
  std::string sha256;
  std::filesystem::path dir;
  std::uint64_t bytes = 0;
  std::int64_t last_used = 0;  // unix seconds
  bool in_use = false;
};

std::vector<CacheEntry> cache_list(const std::filesystem::path& cache_dir);
// Removes what interrupted or SIGKILLed runs left (temp dirs, stale run dirs) and entries
// unused for longer than `older_than`; returns a line per thing removed.
std::vector<std::string> cache_prune(const std::filesystem::path& cache_dir, std::chrono::seconds older_than);
// Removes every entry that is not in use.
std::vector<std::string> cache_clear(const std::filesystem::path& cache_dir);
// Scratch space in the cache for other stages (created on demand, mode 0700). A directory
// made there with mkdtemp and named "<what>-<pid>-XXXXXX" is removed by cache_prune once
// process <pid> has exited, so a SIGKILLed run leaves nothing that prune cannot find.
std::filesystem::path cache_tmp_dir(const std::filesystem::path& cache_dir);

}  // namespace gatebox
