#pragma once
// A small tar (POSIX pax) writer. libarchive's writer would do, but its static archive
// links every format's writer (xar pulls in libxml2, zip pulls in nettle), which the static
// gatebox binary must not carry; writing ustar headers plus pax records for long names and
// big numbers is all a tree needs.
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace gatebox {

class TarWriter {
 public:
  // Receives the archive's bytes in order; returning false stops the writer (write() and
  // friends then return false too).
  using Sink = std::function<bool(std::string_view)>;
  explicit TarWriter(Sink sink) : sink_(std::move(sink)) {}

  enum class Type : char { file = '0', hardlink = '1', symlink = '2', chr = '3', blk = '4', dir = '5', fifo = '6' };
  struct Entry {
    std::string path;  // relative, "bin/sh"; directories may end in '/'
    Type type = Type::file;
    mode_t mode = 0644;  // permission bits (including set-id and sticky)
    std::uint64_t uid = 0, gid = 0;
    std::uint64_t size = 0;  // regular files only
    std::int64_t mtime = 0;
    std::string link;  // symlink target or hard link's earlier path
    unsigned dev_major = 0, dev_minor = 0;
  };
  // The header; then exactly `size` bytes of data() for a regular file.
  bool begin(const Entry& entry);
  bool data(std::string_view bytes);
  // The end-of-archive marker. Every entry's data must be complete.
  bool finish();

 private:
  bool emit(std::string_view bytes);
  bool pad_entry();
  Sink sink_;
  std::uint64_t left_ = 0;     // data still owed for the current entry
  std::uint64_t written_ = 0;  // data of the current entry so far (for padding)
  bool ok_ = true;
};

}  // namespace gatebox
