#include "rootfs/tree_identity.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"
#include "util/sha256.hpp"

namespace gatebox {
namespace fs = std::filesystem;
namespace {

// The listing is hashed in chunks, each chained to the digest so far, so that a tree of
// millions of entries needs no more memory than one chunk.
struct ChainedDigest {
  std::string state, chunk;
  void add(std::string_view text) {
    chunk += text;
    if (chunk.size() >= (1u << 20)) flush();
  }
  void flush() {
    state = sha256_hex(state + chunk);
    chunk.clear();
  }
};

void scan_dir(int dirfd, const std::string& rel, const fs::path& top, TreeScan& scan, ChainedDigest& digest) {
  std::string shown = (top / rel).string();
  const std::vector<std::string> names = sorted_dir_names(dirfd, shown);
  for (const std::string& name : names) {
    std::string path = rel.empty() ? name : rel + "/" + name;
    struct stat st {};
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) throw sys_error("stat", (top / path).string());
    ++scan.entries;
    std::string target;
    if (S_ISLNK(st.st_mode)) {
      target.resize(static_cast<std::size_t>(st.st_size) + 1);
      ssize_t n = ::readlinkat(dirfd, name.c_str(), target.data(), target.size());
      target.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    } else if (S_ISREG(st.st_mode)) {
      scan.bytes += static_cast<std::uint64_t>(st.st_size);
    }
    // Lengths first, so that no name or link target can pass for another listing.
    digest.add(fmt::format("{}:{} {:o} {} {} {} {}.{} {}:{}\n", path.size(), path, st.st_mode, st.st_uid, st.st_gid,
                           st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec, target.size(), target));
    if (S_ISDIR(st.st_mode)) {
      Fd sub(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub) throw sys_error("open", (top / path).string());
      scan_dir(sub.get(), path, top, scan, digest);
    }
  }
}

}  // namespace

TreeScan scan_rootfs_tree(const fs::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw sys_error("open", dir.string());
  TreeScan scan;
  ChainedDigest digest;
  scan_dir(fd.get(), "", dir, scan, digest);
  digest.flush();
  scan.digest = digest.state;
  return scan;
}

std::string rootfs_identity(const RootfsTree& rootfs) {
  if (!rootfs.sha256.empty()) return rootfs.sha256;
  return "dir-" + scan_rootfs_tree(rootfs.dir).digest;
}

std::set<std::string> cached_rootfs_identities(const fs::path& cache_dir) {
  std::set<std::string> ids;
  for (const CacheEntry& e : cache_list(cache_dir)) ids.insert(e.sha256);
  return ids;
}

}  // namespace gatebox
