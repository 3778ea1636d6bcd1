#pragma once
// Test helper for the rootfs tests: writes tar archives (optionally compressed) with
// libarchive's writer, including the hostile entries the extractor must refuse.
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace gatebox::test {

class ArchiveBuilder {
 public:
  // filter: "none", "gzip", "xz", "zstd", "bzip2"; format: "pax", "ustar", "zip", ...
  explicit ArchiveBuilder(const std::filesystem::path& out, const std::string& filter = "none",
                          const std::string& format = "pax", const std::string& options = "") {
    a_ = archive_write_new();
    if (filter != "none") check(archive_write_add_filter_by_name(a_, filter.c_str()));
    check(archive_write_set_format_by_name(a_, format.c_str()));
    if (!options.empty()) check(archive_write_set_options(a_, options.c_str()));
    check(archive_write_open_filename(a_, out.c_str()));
  }
  ArchiveBuilder(const ArchiveBuilder&) = delete;
  ArchiveBuilder& operator=(const ArchiveBuilder&) = delete;
  ~ArchiveBuilder() {
    if (a_ != nullptr) archive_write_free(a_);
  }

  ArchiveBuilder& file(const std::string& name, const std::string& data, int perm = 0644, long uid = -1,
                       long gid = -1) {
    archive_entry* e = entry(name, AE_IFREG, perm);
    archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
    if (uid >= 0) archive_entry_set_uid(e, uid);
    if (gid >= 0) archive_entry_set_gid(e, gid);
    write_header(e);
    if (!data.empty() && archive_write_data(a_, data.data(), data.size()) < 0) fail();
    return *this;
  }
  ArchiveBuilder& dir(const std::string& name, int perm = 0755) {
    write_header(entry(name, AE_IFDIR, perm));
    return *this;
  }
  ArchiveBuilder& symlink(const std::string& name, const std::string& target) {
    archive_entry* e = entry(name, AE_IFLNK, 0777);
    archive_entry_set_symlink(e, target.c_str());
    write_header(e);
    return *this;
  }
  ArchiveBuilder& hardlink(const std::string& name, const std::string& target) {
    archive_entry* e = entry(name, AE_IFREG, 0644);
    archive_entry_set_hardlink(e, target.c_str());
    archive_entry_set_size(e, 0);
    write_header(e);
    return *this;
  }
  ArchiveBuilder& special(const std::string& name, unsigned type) {
    archive_entry* e = entry(name, type, 0644);
    if (type == AE_IFCHR || type == AE_IFBLK) archive_entry_set_rdev(e, makedev(1, 3));
    write_header(e);
    return *this;
  }
  // `size` bytes of zeros, streamed (never held in memory).
  ArchiveBuilder& zeros(const std::string& name, std::uint64_t size) {
    archive_entry* e = entry(name, AE_IFREG, 0644);
    archive_entry_set_size(e, static_cast<la_int64_t>(size));
    write_header(e);
    std::vector<char> block(1 << 20, 0);
    for (std::uint64_t left = size; left > 0;) {
      std::size_t n = left < block.size() ? static_cast<std::size_t>(left) : block.size();
      if (archive_write_data(a_, block.data(), n) < 0) fail();
      left -= n;
    }
    return *this;
  }
  // A sparse file of `size` bytes whose only data is `data` at `offset`.
  ArchiveBuilder& sparse(const std::string& name, std::uint64_t size, std::uint64_t offset, const std::string& data) {
    archive_entry* e = entry(name, AE_IFREG, 0644);
    archive_entry_set_size(e, static_cast<la_int64_t>(size));
    archive_entry_sparse_add_entry(e, static_cast<la_int64_t>(offset), static_cast<la_int64_t>(data.size()));
    write_header(e);
    // The writer takes the logical contents and drops what falls in holes, so the bytes
    // before `offset` are fed as zeros.
    std::vector<char> block(1 << 20, 0);
    for (std::uint64_t left = offset; left > 0;) {
      std::size_t n = left < block.size() ? static_cast<std::size_t>(left) : block.size();
      if (archive_write_data(a_, block.data(), n) < 0) fail();
      left -= n;
    }
    if (archive_write_data(a_, data.data(), data.size()) < 0) fail();
    return *this;
  }
  void close() {
    check(archive_write_close(a_));
    archive_write_free(a_);
    a_ = nullptr;
  }

 private:
  archive_entry* entry(const std::string& name, unsigned type, int perm) {
    archive_entry_clear(scratch_.get());
    archive_entry* e = scratch_.get();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, static_cast<mode_t>(perm));
    archive_entry_set_mtime(e, 1'600'000'000, 0);
    return e;
  }
  void write_header(archive_entry* e) { check(archive_write_header(a_, e)); }
  void check(int r) {
    if (r != ARCHIVE_OK) fail();
  }
  [[noreturn]] void fail() {
    const char* why = archive_error_string(a_);
    throw std::runtime_error(std::string("archive writer: ") + (why != nullptr ? why : "?"));
  }

  struct EntryFree {
    void operator()(archive_entry* e) const { archive_entry_free(e); }
  };
  archive* a_ = nullptr;
  std::unique_ptr<archive_entry, EntryFree> scratch_{archive_entry_new()};
};

}  // namespace gatebox::test
