// Fuzz target: the rootfs extractor (tar, optionally compressed, into a private directory).
//
// Each input is unpacked from memory into a fresh directory `root`, next to a directory
// `outside` holding one file, with small limits. Invariants:
//   - failures are gatebox::Error with exit code 65, and leave `root` empty;
//   - nothing outside `root` changes: no new names beside it, `outside/file` keeps its
//     content, mode and link count (so no hardlink or write reached it);
//   - the tree holds only directories, regular files and symlinks, none set-id; regular
//     files are linked only from inside the tree; their bytes stay within max_bytes.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "fuzz_check.hpp"
#include "rootfs/rootfs.hpp"
#include "util/error.hpp"

namespace {

namespace fs = std::filesystem;
using gatebox::fuzz::check;
using gatebox::fuzz::violated;

constexpr gatebox::ExtractLimits kLimits{1 << 20, 64};
constexpr std::string_view kOutsideContent = "outside the tree\n";

// Removes a tree whatever modes the archive gave its directories.
void wipe(const fs::path& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (!ec) return;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) fs::permissions(it->path(), fs::perms::owner_all, ec);
  }
  fs::permissions(dir, fs::perms::owner_all, ec);
  fs::remove_all(dir, ec);
  if (ec) violated("cannot remove " + dir.string() + ": " + ec.message());
}

struct Sandbox {
  fs::path parent;
  fs::path root;
  fs::path outside_file;

  Sandbox() {
    // tmpfs: a tree per input costs no disk I/O.
    // $GATEBOX_FUZZ_TMP: where scripts/fuzz.sh wants it, so that it can remove what a crashed
    // run leaves.
    const char* base = std::getenv("GATEBOX_FUZZ_TMP");
    std::string tmpl = std::string(base != nullptr ? base : "/dev/shm") + "/gatebox-fuzz-archive-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      tmpl = fs::temp_directory_path() / "gatebox-fuzz-archive-XXXXXX";
      if (::mkdtemp(tmpl.data()) == nullptr) violated("mkdtemp failed");
    }
    parent = tmpl;
    root = parent / "root";
    fs::create_directory(parent / "outside");
    outside_file = parent / "outside" / "file";
    std::ofstream(outside_file) << kOutsideContent;
    fs::permissions(outside_file, fs::perms::owner_read | fs::perms::owner_write);
  }
  ~Sandbox() { wipe(parent); }

  void fresh_root() {
    if (::mkdir(root.c_str(), 0700) != 0) violated("mkdir " + root.string() + " failed");
  }

  void check_outside() const {
    for (const auto& e : fs::directory_iterator(parent)) {
      const auto name = e.path().filename();
      check(name == "root" || name == "outside", "the extractor created " + e.path().string());
    }
    std::size_t names = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(parent / "outside")) ++names;
    check(names == 1, "the extractor created a name in the sibling directory 'outside'");
    struct stat st {};
    check(::lstat(outside_file.c_str(), &st) == 0 && S_ISREG(st.st_mode), "outside/file was replaced");
    check(st.st_nlink == 1, "outside/file gained a hard link");
    check((st.st_mode & 07777) == 0600, "outside/file changed mode");
    std::ifstream in(outside_file);
    std::stringstream content;
    content << in.rdbuf();
    check(content.str() == kOutsideContent, "outside/file changed content");
  }
};

Sandbox& sandbox() {
  static Sandbox s;  // one per fuzzer process; `root` is recreated per input
  return s;
}

void check_tree(const fs::path& root) {
  std::map<std::pair<dev_t, ino_t>, std::pair<nlink_t, std::uint64_t>> inodes;  // -> links seen, nlink
  std::uint64_t bytes = 0;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    const std::string shown = it->path().string();
    struct stat st {};
    check(::lstat(it->path().c_str(), &st) == 0, "cannot lstat " + shown);
    check(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode) || S_ISLNK(st.st_mode),
          "the tree holds a device, FIFO or socket: " + shown);
    if (S_ISLNK(st.st_mode)) continue;
    check((st.st_mode & 06000) == 0, "set-id bit survived on " + shown);
    if (!S_ISREG(st.st_mode)) continue;
    auto [slot, first] = inodes.try_emplace({st.st_dev, st.st_ino}, 0, st.st_nlink);
    if (first) bytes += static_cast<std::uint64_t>(st.st_size);
    ++slot->second.first;
  }
  for (const auto& [inode, links] : inodes) {
    check(links.first == links.second, "a regular file has " + std::to_string(links.second) + " links but only " +
                                           std::to_string(links.first) + " inside the tree");
  }
  check(bytes <= kLimits.max_bytes, "the tree holds " + std::to_string(bytes) + " bytes, over max_bytes");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Sandbox& s = sandbox();
  s.fresh_root();
  bool extracted = false;
  try {
    gatebox::extract_archive_memory(data, size, s.root, kLimits);
    extracted = true;
  } catch (const gatebox::Error& e) {
    check(e.code() == gatebox::ExitCode::bad_input,
          "extraction failed with exit code " + std::to_string(static_cast<int>(e.code())) + ": " + e.what());
    check(fs::is_empty(s.root), std::string("a failed extraction left entries behind: ") + e.what());
  } catch (...) {
    gatebox::fuzz::unexpected_exception("extract_archive_memory");
  }
  if (extracted) check_tree(s.root);
  s.check_outside();
  wipe(s.root);
  return 0;
}
