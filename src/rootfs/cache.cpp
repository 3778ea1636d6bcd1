// The rootfs cache: images are unpacked once per content digest, into a private temp dir
// that is renamed into place only when complete, under a per-digest lock.
#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "rootfs/cache_layout.hpp"
#include "rootfs/extract_detail.hpp"
#include "rootfs/rootfs.hpp"
#include "util/fs.hpp"
#include "util/interrupt.hpp"
#include "util/sha256.hpp"

namespace gatebox {
namespace fs = std::filesystem;

void CacheLayout::create() const {
  for (const fs::path& d : {root, trees, tmp, locks, index}) make_dirs(d, 0700);
}

bool is_sha256_hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Fd open_lock_file(const fs::path& path) {
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) throw sys_error("open", path.string());
  return fd;
}

bool try_lock(int fd, int operation, const fs::path& shown) {
  while (::flock(fd, operation | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return false;
    throw sys_error("flock", shown.string());
  }
  return true;
}

void wait_for_lock(int fd, int operation, const fs::path& shown) {
  while (!try_lock(fd, operation, shown)) {
    check_interrupt();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void write_file_atomically(const fs::path& path, std::string_view text) {
  fs::path tmp = path;
  tmp += fmt::format(".tmp-{}", ::getpid());
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) throw sys_error("open", tmp.string());
    write_all(fd.get(), text.data(), text.size(), tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw sys_error("rename", path.string(), err);
  }
}

namespace {

std::int64_t ns(const timespec& t) { return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec; }

// The index key names one version of one file: a changed file (new size, mtime or ctime,
// or replaced by another inode) gets a new key and is hashed again.
fs::path index_path(const CacheLayout& layout, const fs::path& image, const struct stat& st) {
  std::error_code ec;
  fs::path real = fs::canonical(image, ec);
  if (ec) real = fs::absolute(image);
  std::string key = fmt::format("{}\n{}:{}:{}:{}:{}", real.string(), st.st_dev, st.st_ino, st.st_size, ns(st.st_mtim),
                                ns(st.st_ctim));
  return layout.index / sha256_hex(key);
}

bool tree_exists(const fs::path& tree) {
  struct stat st {};
  return ::lstat(tree.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void touch(const fs::path& path) { ::utimensat(AT_FDCWD, path.c_str(), nullptr, 0); }

RootfsTree use_dir(const fs::path& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) throw sys_error("rootfs.dir", dir.string(), errno, ExitCode::bad_input);
  if (!S_ISDIR(st.st_mode)) throw make_error(ExitCode::bad_input, "rootfs.dir {}: not a directory", dir.string());
  RootfsTree tree;
  tree.dir = dir;
  tree.cache_hit = true;
  return tree;
}

bool same_file_version(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size && ns(a.st_mtim) == ns(b.st_mtim) &&
         ns(a.st_ctim) == ns(b.st_ctim);
}

// Unpacks the image into tmp/, then renames the finished tree into place. Called with the
// exclusive lock held, so no one else unpacks the same digest meanwhile.
void unpack_into_cache(const CacheLayout& layout, const Profile& profile, int image_fd, const struct stat& before,
                       const std::string& sha, const ProgressFn& progress) {
  const fs::path& image = profile.rootfs.image;
  TempDir work(layout.tmp, fmt::format("extract-{}-", ::getpid()));
  if (::lseek(image_fd, 0, SEEK_SET) != 0) throw sys_error("lseek", image.string(), errno, ExitCode::bad_input);
  ExtractLimits limits{profile.rootfs.max_bytes, profile.rootfs.max_entries};
  ExtractStats stats = extract_archive_fd(image_fd, image.string(), work.path(), limits, progress);
  struct stat after {};
  if (::fstat(image_fd, &after) != 0 || !same_file_version(before, after)) {
    throw make_error(ExitCode::bad_input, "{}: the image changed while it was being unpacked; run again",
                     image.string());
  }
  nlohmann::json meta = {
      {"sha256", sha},
      {"image", image.string()},
      {"bytes", stats.bytes},
      {"entries", stats.entries},
      {"skipped", stats.skipped},
      {"created", std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count()},
  };
  write_file_atomically(layout.meta(sha), meta.dump(2) + "\n");
  fs::path tree = layout.tree(sha);
  if (::rename(work.path().c_str(), tree.c_str()) != 0) throw sys_error("rename", tree.string());
  work.release();
  // The cached tree is only ever a read-only lower layer; taking write permission off its
  // top makes an accidental write by a non-root process fail instead of corrupting it.
  struct stat st {};
  if (::stat(tree.c_str(), &st) == 0) ::chmod(tree.c_str(), st.st_mode & 07555);
}

fs::path& chosen_cache_dir() {
  static fs::path chosen;
  return chosen;
}

}  // namespace

void choose_cache_dir(const fs::path& dir) {
  if (!dir.empty()) chosen_cache_dir() = dir;
}

fs::path default_cache_dir() {
  if (!chosen_cache_dir().empty()) return chosen_cache_dir();
  auto env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v != nullptr ? v : "";
  };
  if (std::string v = env("GATEBOX_CACHE"); !v.empty()) return v;
  if (::geteuid() == 0) return "/var/cache/gatebox";
  if (std::string v = env("XDG_CACHE_HOME"); !v.empty() && v.front() == '/') return fs::path(v) / "gatebox";
  std::string home = env("HOME");
  if (home.empty()) {
    if (const passwd* pw = ::getpwuid(::geteuid()); pw != nullptr && pw->pw_dir != nullptr) home = pw->pw_dir;
  }
  if (home.empty()) {
    throw Error(ExitCode::usage, "cannot find a cache directory: HOME is not set; pass --cache-dir or set GATEBOX_CACHE");
  }
  return fs::path(home) / ".cache" / "gatebox";
}

RootfsTree prepare_rootfs(const Profile& profile, const fs::path& cache_dir, const ProgressFn& progress) {
  const Profile::Rootfs& r = profile.rootfs;
  if (!r.dir.empty()) return use_dir(r.dir);
  if (r.image.empty()) throw Error(ExitCode::bad_input, "rootfs: set rootfs.image or rootfs.dir");

  Fd image = open_regular_file(r.image, "rootfs.image", ExitCode::bad_input);
  struct stat st {};
  if (::fstat(image.get(), &st) != 0) throw sys_error("fstat", r.image.string(), errno, ExitCode::bad_input);

  CacheLayout layout(cache_dir);
  layout.create();
  RootfsTree tree;
  fs::path index = index_path(layout, r.image, st);
  tree.sha256 = read_file(index).value_or("").substr(0, 64);
  if (is_sha256_hex(tree.sha256)) {
    touch(index);
  } else {
    tree.sha256 = sha256_fd(image.get(), r.image.string(), ExitCode::bad_input);
    tree.hashed = true;
    write_file_atomically(index, tree.sha256 + "\n");
  }
  if (!r.sha256.empty() && r.sha256 != tree.sha256) {
    throw make_error(ExitCode::bad_input, "{}: sha256 mismatch: rootfs.sha256 pins {} but the image is {}",
                     r.image.string(), r.sha256, tree.sha256);
  }

  tree.dir = layout.tree(tree.sha256);
  tree.lock = open_lock_file(layout.lock(tree.sha256));
  const fs::path lock_path = layout.lock(tree.sha256);
  bool unpacked = false;
  for (;;) {
    wait_for_lock(tree.lock.get(), LOCK_SH, lock_path);
    if (tree_exists(tree.dir)) break;
    // Whoever gets the exclusive lock first unpacks; the others find the tree afterwards.
    wait_for_lock(tree.lock.get(), LOCK_EX, lock_path);
    if (!tree_exists(tree.dir)) {
      unpack_into_cache(layout, profile, image.get(), st, tree.sha256, progress);
      unpacked = true;
    }
    // flock's EX -> SH conversion is not atomic: `cache clear` may remove the tree in
    // between, so the loop looks again under the shared lock.
    wait_for_lock(tree.lock.get(), LOCK_SH, lock_path);
    if (tree_exists(tree.dir)) break;
  }
  tree.cache_hit = !unpacked;
  touch(layout.meta(tree.sha256));
  return tree;
}

}  // namespace gatebox
