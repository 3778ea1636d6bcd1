#include "stack/vm/cpio_writer.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include <fmt/format.h>

#include "util/fd.hpp"
#include "util/fs.hpp"
#include "util/interrupt.hpp"

namespace gatebox::vm {
namespace {

CpioMeta meta_of(const struct stat& st) {
  return {static_cast<mode_t>(st.st_mode & 07777), st.st_uid, st.st_gid, static_cast<std::int64_t>(st.st_mtim.tv_sec)};
}

std::string join(const std::string& dest, const std::string& name) { return dest.empty() ? name : dest + "/" + name; }


// Opens `rel` below `root` refusing symlinks and "..": the file a deferred hard link's
// data is read from, named again after the walk has left its directory.
Fd open_beneath(int root, const std::string& rel) {
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  return Fd(static_cast<int>(::syscall(SYS_openat2, root, rel.c_str(), &how, sizeof how)));
}

}  // namespace

struct CpioWriter::Walk {
  int root;
  std::string shown;  // the host tree, for messages
  TreeBudget& budget;
  std::map<std::pair<dev_t, ino_t>, std::int64_t> inos;  // host inode → archive inode
  std::map<std::int64_t, std::string> link_sources;      // archive inode → path below root
  const std::set<std::string>* skip_top = nullptr;
};

CpioWriter::CpioWriter(int fd, Compression compression, std::string shown) : shown_(std::move(shown)) {
  a_ = archive_write_new();
  links_ = archive_entry_linkresolver_new();
  if (a_ == nullptr || links_ == nullptr) throw Error(ExitCode::internal, "libarchive: out of memory");
  // The "new cpio" strategy: earlier links are written empty and the last one carries the
  // data, which is what both the kernel's unpacker and cpio(1) expect of newc.
  archive_entry_linkresolver_set_strategy(links_, ARCHIVE_FORMAT_CPIO_SVR4_NOCRC);
  if (archive_write_set_format_cpio_newc(a_) != ARCHIVE_OK) throw archive_failure("cpio newc");
  if (compression == Compression::zstd && archive_write_add_filter_zstd(a_) != ARCHIVE_OK) {
    throw archive_failure("zstd compression");
  }
  // No padding to a tape block after the end: the next archive must start right after.
  archive_write_set_bytes_in_last_block(a_, 1);
  if (archive_write_open_fd(a_, fd) != ARCHIVE_OK) throw archive_failure("open");
}

CpioWriter::~CpioWriter() {
  if (links_ != nullptr) archive_entry_linkresolver_free(links_);
  if (a_ != nullptr) {
    // Not finished: an error is on its way up; the output is discarded by the caller.
    if (!finished_) archive_write_fail(a_);
    archive_write_free(a_);
  }
}

Error CpioWriter::archive_failure(std::string_view what) const {
  const char* msg = a_ != nullptr ? archive_error_string(a_) : nullptr;
  int err = a_ != nullptr ? archive_errno(a_) : 0;
  if (err == ENOSPC) return make_error(ExitCode::internal, "{}: no space left on the device (free some, or use --cache-dir)", shown_);
  return make_error(ExitCode::internal, "{}: writing the initramfs ({}) failed: {}", shown_, what,
                    msg != nullptr ? msg : "unknown libarchive error");
}

archive_entry* CpioWriter::new_entry(const std::string& path, mode_t type, const CpioMeta& meta) {
  archive_entry* e = archive_entry_new();
  if (e == nullptr) throw Error(ExitCode::internal, "libarchive: out of memory");
  archive_entry_copy_pathname(e, path.c_str());
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, meta.mode & 07777);
  archive_entry_set_uid(e, meta.uid);
  archive_entry_set_gid(e, meta.gid);
  archive_entry_set_mtime(e, meta.mtime, 0);
  archive_entry_set_size(e, 0);  // newc wants a size on every entry
  archive_entry_set_nlink(e, type == AE_IFDIR ? 2 : 1);
  // The kernel pairs hard links by inode number; small unique numbers of our own keep
  // host inodes (often above newc's 32 bits) out of the archive.
  archive_entry_set_ino64(e, next_ino_++);
  archive_entry_set_dev(e, 0);
  return e;
}

void CpioWriter::write_entry(archive_entry* e, int data_fd, const std::string& shown) {
  std::unique_ptr<archive_entry, decltype(&archive_entry_free)> owned(e, archive_entry_free);
  if (archive_write_header(a_, e) < ARCHIVE_WARN) throw archive_failure(archive_entry_pathname(e));
  std::uint64_t left = static_cast<std::uint64_t>(archive_entry_size(e));
  std::vector<char> buf(left > 0 ? std::min<std::uint64_t>(left, 1 << 20) : 0);
  while (left > 0) {
    ssize_t n = ::read(data_fd, buf.data(), std::min<std::uint64_t>(left, buf.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw sys_error("read", shown);
    if (n == 0) break;  // shrank meanwhile: libarchive pads the entry with zeros
    if (archive_write_data(a_, buf.data(), static_cast<std::size_t>(n)) < 0) throw archive_failure(shown);
    left -= static_cast<std::uint64_t>(n);
  }
  if (archive_write_finish_entry(a_) < ARCHIVE_WARN) throw archive_failure(shown);
}

void CpioWriter::directory(const std::string& path, const CpioMeta& meta) {
  write_entry(new_entry(path, AE_IFDIR, meta), -1, path);
  dirs_.insert(path);
}

void CpioWriter::file(const std::string& path, const CpioMeta& meta, std::string_view contents) {
  archive_entry* e = new_entry(path, AE_IFREG, meta);
  archive_entry_set_size(e, static_cast<la_int64_t>(contents.size()));
  std::unique_ptr<archive_entry, decltype(&archive_entry_free)> owned(e, archive_entry_free);
  if (archive_write_header(a_, e) < ARCHIVE_WARN) throw archive_failure(path);
  if (!contents.empty() && archive_write_data(a_, contents.data(), contents.size()) < 0) throw archive_failure(path);
  if (archive_write_finish_entry(a_) < ARCHIVE_WARN) throw archive_failure(path);
}

void CpioWriter::symlink(const std::string& path, const std::string& target, const CpioMeta& meta) {
  archive_entry* e = new_entry(path, AE_IFLNK, meta);
  archive_entry_copy_symlink(e, target.c_str());
  write_entry(e, -1, path);
}

void CpioWriter::parents(const std::string& path) {
  for (std::size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    std::string dir = path.substr(0, slash);
    if (!dir.empty() && !dirs_.count(dir)) directory(dir, CpioMeta{0755, 0, 0, 0});
  }
}

void CpioWriter::emit_file(Walk& w, int fd, const struct stat& st, const std::string& dest, const std::string& rel) {
  std::string shown = rel.empty() ? w.shown : w.shown + "/" + rel;
  w.budget.bytes += static_cast<std::uint64_t>(st.st_size);
  if (w.budget.bytes > w.budget.max_bytes) throw w.budget.too_big();
  archive_entry* cur = new_entry(dest, AE_IFREG, meta_of(st));
  archive_entry_set_size(cur, st.st_size);
  if (st.st_nlink < 2) {
    write_entry(cur, fd, shown);
    return;
  }
  auto [it, fresh] = w.inos.try_emplace({st.st_dev, st.st_ino}, archive_entry_ino64(cur));
  if (fresh) w.link_sources[it->second] = rel;
  archive_entry_set_ino64(cur, it->second);
  archive_entry_set_nlink(cur, st.st_nlink);
  archive_entry* first = cur;
  archive_entry* second = nullptr;
  archive_entry_linkify(links_, &first, &second);
  // `first` (if any) is an earlier link, now without data; `second` (if any) is `cur`,
  // the last link, which carries the data.
  for (archive_entry* e : {first, second}) {
    if (e == nullptr) continue;
    if (e == cur) {
      write_entry(e, fd, shown);
    } else {
      archive_entry_set_size(e, 0);
      write_entry(e, -1, shown);
    }
  }
}

// Links whose other names are outside the tree: the resolver still holds their last
// name, written now with the data read again through that name.
void CpioWriter::drain_links(Walk& w) {
  for (;;) {
    archive_entry* e = nullptr;
    archive_entry* spare = nullptr;
    archive_entry_linkify(links_, &e, &spare);
    if (e == nullptr) return;
    std::string rel = w.link_sources[archive_entry_ino64(e)];
    std::string shown = rel.empty() ? w.shown : w.shown + "/" + rel;
    Fd fd = open_beneath(w.root, rel);
    if (!fd) {
      archive_entry_free(e);
      throw sys_error("open", shown);
    }
    write_entry(e, fd.get(), shown);
  }
}

void CpioWriter::walk_dir(Walk& w, int dirfd, const std::string& dest, const std::string& rel) {
  std::string here = rel.empty() ? w.shown : w.shown + "/" + rel;
  check_interrupt();
  for (const std::string& name : sorted_dir_names(dirfd, here)) {
    if (rel.empty() && w.skip_top != nullptr && w.skip_top->count(name)) continue;
    std::string child_rel = join(rel, name), child_dest = join(dest, name);
    std::string shown = w.shown + "/" + child_rel;
    struct stat st {};
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) throw sys_error("stat", shown);
    if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<std::size_t>(st.st_size) + 1, '\0');
      ssize_t n = ::readlinkat(dirfd, name.c_str(), target.data(), target.size());
      if (n < 0) throw sys_error("readlink", shown);
      target.resize(static_cast<std::size_t>(n));
      symlink(child_dest, target, meta_of(st));
    } else if (S_ISDIR(st.st_mode)) {
      Fd sub(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub) throw sys_error("open", shown);
      directory(child_dest, meta_of(st));
      walk_dir(w, sub.get(), child_dest, child_rel);
    } else if (S_ISREG(st.st_mode)) {
      Fd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
      if (!fd) throw sys_error("open", shown);
      // Described by the file actually opened, in case the name was replaced meanwhile.
      if (::fstat(fd.get(), &st) != 0) throw sys_error("fstat", shown);
      if (S_ISREG(st.st_mode)) emit_file(w, fd.get(), st, child_dest, child_rel);
    }
    // Devices, FIFOs and sockets: nothing a gate could use from a copy.
  }
}

void CpioWriter::add_tree(int dirfd, const std::string& prefix, const std::string& shown, TreeBudget& budget,
                          const std::set<std::string>& skip_top) {
  Walk w{dirfd, shown, budget, {}, {}, &skip_top};
  walk_dir(w, dirfd, prefix, "");
  drain_links(w);
}

void CpioWriter::add_file(int fd, const struct stat& st, const std::string& path, const std::string& shown,
                          TreeBudget& budget) {
  Walk w{fd, shown, budget, {}, {}, nullptr};
  struct stat single = st;
  single.st_nlink = 1;  // alone in the archive: nothing to link it to
  emit_file(w, fd, single, path, "");
}

void CpioWriter::finish() {
  if (archive_write_close(a_) != ARCHIVE_OK) throw archive_failure("close");
  finished_ = true;
}

}  // namespace gatebox::vm
