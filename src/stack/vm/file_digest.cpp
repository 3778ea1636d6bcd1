#include "stack/vm/file_digest.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <string_view>

#include <fmt/format.h>

#include "rootfs/cache_layout.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"
#include "util/sha256.hpp"

namespace gatebox::vm {
namespace fs = std::filesystem;

fs::path vm_cache_dir(const fs::path& cache_dir) {
  fs::path dir = cache_dir / "vm";
  make_dirs(dir, 0700);
  return dir;
}

std::string remembered_sha256(int fd, const fs::path& path, const fs::path& cache_dir) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw sys_error("fstat", path.string());
  std::string key = sha256_hex(fmt::format("{}\n{}:{}:{}:{}.{}:{}.{}", fs::absolute(path).string(), st.st_dev,
                                           st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                                           st.st_ctim.tv_sec, st.st_ctim.tv_nsec));
  fs::path index = vm_cache_dir(cache_dir) / "index";
  fs::path record = index / key;
  if (auto known = read_file(record)) {
    std::string_view text = *known;
    if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    if (is_sha256_hex(text)) return std::string(text);
  }
  std::string digest = sha256_fd(fd, path.string(), ExitCode::unavailable);
  // The record only saves re-hashing: a writer that loses a race with another one writing
  // the same digest (same temp name within one process) has nothing to redo.
  try {
    make_dirs(index, 0700);
    write_file_atomically(record, digest + "\n");
  } catch (const Error&) {
  }
  return digest;
}

void sweep_stale_temp_files(const fs::path& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  while (dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    auto t = name.rfind(".tmp-");
    if (t == std::string_view::npos) continue;
    std::string_view digits = name.substr(t + 5);
    pid_t pid = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
    if (ec != std::errc() || end != digits.data() + digits.size() || pid <= 0 || process_alive(pid)) continue;
    ::unlinkat(::dirfd(d), e->d_name, 0);
  }
  ::closedir(d);
}

}  // namespace gatebox::vm
