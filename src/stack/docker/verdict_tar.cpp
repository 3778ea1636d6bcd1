#include "stack/docker/verdict_tar.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <memory>

#include <fmt/format.h>

namespace gatebox {
namespace {
const char* error_of(archive* a) {
  const char* e = archive_error_string(a);
  return e != nullptr ? e : "unknown error";
}
}  // namespace

VerdictTar read_verdict_tar(std::string_view tar) {
  VerdictTar out;
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), &archive_read_free);
  archive_read_support_format_tar(a.get());
  if (archive_read_open_memory(a.get(), tar.data(), tar.size()) != ARCHIVE_OK) {
    out.problem = fmt::format("not a tar archive: {}", error_of(a.get()));
    return out;
  }
  archive_entry* entry = nullptr;
  int entries = 0;
  for (;;) {
    const int rc = archive_read_next_header(a.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK) {
      out.problem = fmt::format("malformed tar: {}", error_of(a.get()));
      return out;
    }
    if (++entries > 1) {
      out.problem = "more than one entry (not a single regular file)";
      return out;
    }
    if (archive_entry_filetype(entry) != AE_IFREG || archive_entry_hardlink(entry) != nullptr) {
      out.problem = "not a regular file";
      return out;
    }
    if (archive_entry_size_is_set(entry) && archive_entry_size(entry) > static_cast<la_int64_t>(kVerdictFileMax)) {
      out.problem = fmt::format("larger than {} bytes", kVerdictFileMax);
      return out;
    }
    char buf[8192];
    for (;;) {
      const la_ssize_t n = archive_read_data(a.get(), buf, sizeof buf);
      if (n < 0) {
        out.problem = fmt::format("malformed tar: {}", error_of(a.get()));
        return out;
      }
      if (n == 0) break;
      if (out.contents.size() + static_cast<std::size_t>(n) > kVerdictFileMax) {
        out.problem = fmt::format("larger than {} bytes", kVerdictFileMax);
        out.contents.clear();
        return out;
      }
      out.contents.append(buf, static_cast<std::size_t>(n));
    }
  }
  if (entries == 0) {
    out.problem = "an empty archive";
    return out;
  }
  out.ok = true;
  return out;
}

}  // namespace gatebox
