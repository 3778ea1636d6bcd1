// Safe extraction of tar images. Only libarchive's tar reader and its built-in gzip, xz,
// zstd and bzip2 decoders are enabled (never an external program), a warning counts as an
// error, and every entry is created by TreeWriter, which cannot write outside `dest`.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <locale.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "rootfs/extract_detail.hpp"
#include "rootfs/tree_writer.hpp"
#include "util/fs.hpp"
#include "util/interrupt.hpp"
#include "util/units.hpp"

namespace gatebox {
namespace {

struct ReaderFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
using Reader = std::unique_ptr<archive, ReaderFree>;

constexpr std::uint64_t interrupt_every_bytes = 4ULL << 20;
// rootfs.max_bytes bounds what the tree costs on disk, not only file data: every entry
// (a directory, a symlink, an empty file) takes an inode and at least a block, and data is
// stored in whole blocks. 6,000 directories and symlinks once took 26 MiB under a 2 MiB limit.
constexpr std::uint64_t kEntryBlock = 4096;

std::uint64_t whole_blocks(std::uint64_t bytes) {
  return bytes / kEntryBlock * kEntryBlock + (bytes % kEntryBlock != 0 ? kEntryBlock : 0);
}
constexpr std::uint64_t interrupt_every_entries = 256;

// A reader of `format` ("tar", or "raw": the decoded bytes as one entry) with libarchive's
// built-in decoders.
Reader new_reader(int (*format)(archive*) = archive_read_support_format_tar) {
  Reader a(archive_read_new());
  if (!a) throw Error(ExitCode::internal, "libarchive: cannot allocate a reader");
  if (format(a.get()) != ARCHIVE_OK) throw Error(ExitCode::internal, "libarchive: no tar support");
  struct Filter {
    const char* name;
    int (*enable)(archive*);
  };
  // ARCHIVE_WARN from these means "will run an external program instead": refused.
  for (Filter f : {Filter{"gzip", archive_read_support_filter_gzip}, Filter{"xz", archive_read_support_filter_xz},
                   Filter{"zstd", archive_read_support_filter_zstd}, Filter{"bzip2", archive_read_support_filter_bzip2},
                   Filter{"none", archive_read_support_filter_none}}) {
    if (f.enable(a.get()) != ARCHIVE_OK) {
      throw make_error(ExitCode::internal,
                       "libarchive has no built-in {} decoder; gatebox never runs an external decompressor", f.name);
    }
  }
  return a;
}

// The image decoded (gunzip, unxz, ...) in a thread of its own while the caller's thread
// writes the tree: inflating and writing cost about the same on a compressed image, and
// tar -xzf, the yardstick, runs gzip beside tar. A bounded queue between the two keeps
// memory small whatever the image (a bomb is stopped by the writer's limits, and the
// decoder waits). The tar reader reads from it through archive_read_open's callback.
class Decoder {
 public:
  explicit Decoder(int fd) : raw_(new_reader(archive_read_support_format_raw)), fd_(fd) {
    thread_ = std::thread([this] { decode(); });
  }
  ~Decoder() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopped_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // archive_read_open's read callback: the next chunk, 0 at the end, -1 (with the decoder's
  // error set on `a`) when decoding failed.
  static la_ssize_t read(archive* a, void* self, const void** buffer) {
    auto* d = static_cast<Decoder*>(self);
    std::unique_lock<std::mutex> lock(d->mutex_);
    d->changed_.wait(lock, [d] { return !d->chunks_.empty() || d->done_; });
    if (!d->chunks_.empty()) {
      d->current_ = std::move(d->chunks_.front());
      d->chunks_.pop_front();
      lock.unlock();
      d->changed_.notify_all();
      *buffer = d->current_.data();
      return static_cast<la_ssize_t>(d->current_.size());
    }
    if (d->error_.empty()) return 0;
    archive_set_error(a, EIO, "%s", d->error_.c_str());
    return -1;
  }

  // How much of the image the decoder has read: the progress of the whole extraction.
  std::uint64_t consumed() const { return consumed_.load(std::memory_order_relaxed); }

 private:
  static constexpr std::size_t kChunk = 256 * 1024;
  static constexpr std::size_t kQueued = 8;

  void decode() {
    std::string error;
    try {
      decode_into_queue(error);
    } catch (const std::exception& e) {  // e.g. bad_alloc: the writer reports it as a read error
      error = e.what();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = std::move(error);
      done_ = true;
    }
    changed_.notify_all();
  }

  // Decodes until the end, an error (in `error`) or stop. Returns early only when stopped.
  void decode_into_queue(std::string& error) {
    archive_entry* e = nullptr;
    if (archive_read_open_fd(raw_.get(), fd_, 64 * 1024) != ARCHIVE_OK ||
        archive_read_next_header(raw_.get(), &e) != ARCHIVE_OK) {
      const char* why = archive_error_string(raw_.get());
      error = why != nullptr ? why : "cannot read the image";
    }
    while (error.empty()) {
      std::vector<char> chunk(kChunk);
      la_ssize_t n = archive_read_data(raw_.get(), chunk.data(), chunk.size());
      consumed_.store(static_cast<std::uint64_t>(std::max<la_int64_t>(0, archive_filter_bytes(raw_.get(), -1))),
                      std::memory_order_relaxed);
      if (n == 0) break;
      if (n < 0) {
        const char* why = archive_error_string(raw_.get());
        error = why != nullptr ? why : "cannot decode the image";
        break;
      }
      chunk.resize(static_cast<std::size_t>(n));
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [this] { return chunks_.size() < kQueued || stopped_; });
      if (stopped_) return;
      chunks_.push_back(std::move(chunk));
      lock.unlock();
      changed_.notify_all();
    }
  }

  Reader raw_;
  int fd_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::vector<char>> chunks_;
  std::vector<char> current_;  // the chunk the tar reader is reading
  std::string error_;
  bool done_ = false;
  bool stopped_ = false;
  std::atomic<std::uint64_t> consumed_{0};
};

class Extractor {
 public:
  Extractor(archive* a, std::string_view label, const std::filesystem::path& dest, const ExtractLimits& limits,
            const ProgressFn& progress, std::uint64_t total, const Decoder* decoder = nullptr)
      : a_(a),
        label_(label),
        writer_(dest, std::string(label)),
        limits_(limits),
        progress_(progress),
        total_(total),
        decoder_(decoder) {}

  ExtractStats run() {
    for (;;) {
      archive_entry* e = nullptr;
      int r = archive_read_next_header(a_, &e);
      if (r == ARCHIVE_EOF) break;
      if (r != ARCHIVE_OK) throw read_error(r == ARCHIVE_WARN ? e : nullptr);
      if (stats_.entries % interrupt_every_entries == 0) check_interrupt();
      if (++stats_.entries > limits_.max_entries) {
        throw make_error(ExitCode::bad_input,
                         "{}: more than {} entries (rootfs.max_entries); raise it if the image is trusted", label_,
                         limits_.max_entries);
      }
      report_progress(false);
      add(e);
    }
    // Two zero blocks end a tar, so anything that starts with 1 KiB of zeros (an ISO 9660
    // image, a disk image) "is" an empty tar; no rootfs is empty.
    if (stats_.entries == 0) {
      throw make_error(ExitCode::bad_input, "{}: holds no entries: not a tar archive (an ISO or disk image?), or an empty one",
                       label_);
    }
    writer_.finish();
    if (progress_) progress_(total_, total_);
    return stats_;
  }

 private:
  Error read_error(archive_entry* e) const {
    const char* why = archive_error_string(a_);
    std::string reason = why != nullptr ? why : "unknown libarchive error";
    if (stats_.entries == 0 && e == nullptr) {
      return make_error(ExitCode::bad_input, "{}: not a tar archive ({})", label_, reason);
    }
    const char* name = e != nullptr ? archive_entry_pathname(e) : nullptr;
    if (name != nullptr) return entry_error(label_, name, fmt::format("damaged archive ({})", reason));
    return make_error(ExitCode::bad_input, "{}: damaged or truncated archive after entry {} ({})", label_,
                      quote_name(last_), reason);
  }

  void report_progress(bool force) {
    if (!progress_) return;
    auto now = std::chrono::steady_clock::now();
    if (!force && now - last_progress_ < std::chrono::milliseconds(100)) return;
    last_progress_ = now;
    auto done = decoder_ != nullptr ? decoder_->consumed()
                                    : static_cast<std::uint64_t>(std::max<la_int64_t>(0, archive_filter_bytes(a_, -1)));
    progress_(std::min(done, total_), total_);
  }

  // Counts `bytes` against rootfs.max_bytes, or refuses the entry.
  void charge(const EntryPath& p, std::uint64_t bytes) {
    if (bytes > limits_.max_bytes - charged_) throw too_big(p);
    charged_ += bytes;
  }

  Error too_big(const EntryPath& p) const {
    return entry_error(label_, p.raw,
                       fmt::format("the unpacked image exceeds rootfs.max_bytes ({}); raise it if the image is trusted",
                                   format_size(limits_.max_bytes)));
  }

  void add(archive_entry* e) {
    const char* raw = archive_entry_pathname(e);
    if (raw == nullptr) raw = archive_entry_pathname_utf8(e);
    if (raw == nullptr) {
      throw make_error(ExitCode::bad_input, "{}: the entry after {} has a name that cannot be decoded", label_,
                       quote_name(last_));
    }
    last_ = raw;
    EntryPath p = parse_entry_path(label_, raw);
    charge(p, kEntryBlock);  // its metadata, whatever it is (skipped devices and hardlinks too)
    EntryMeta meta;
    // Set-id bits never survive: a setuid binary in an image must not become one on the host.
    meta.mode = archive_entry_perm(e) & 07777 & ~static_cast<mode_t>(06000);
    meta.uid = static_cast<uid_t>(archive_entry_uid(e));
    meta.gid = static_cast<gid_t>(archive_entry_gid(e));
    if (archive_entry_mtime_is_set(e)) {
      meta.mtime.tv_sec = archive_entry_mtime(e);
      meta.mtime.tv_nsec = archive_entry_mtime_nsec(e);
    }
    if (const char* target = archive_entry_hardlink(e)) {
      writer_.hardlink(p, parse_entry_path(label_, target));
      return;
    }
    switch (archive_entry_filetype(e)) {
      case AE_IFDIR:
        writer_.directory(p, meta);
        return;
      case AE_IFREG:
        copy_file(e, p, meta);
        return;
      case AE_IFLNK: {
        const char* target = archive_entry_symlink(e);
        writer_.symlink(p, target != nullptr ? target : "", meta);
        return;
      }
      case AE_IFCHR:
      case AE_IFBLK:
      case AE_IFIFO:
      case AE_IFSOCK:
        writer_.skipped(p);
        ++stats_.skipped;
        return;
      default:
        throw entry_error(label_, raw, "unsupported entry type");
    }
  }

  void copy_file(archive_entry* e, const EntryPath& p, const EntryMeta& meta) {
    la_int64_t declared = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
    if (declared < 0) throw entry_error(label_, p.raw, "negative size");
    const std::uint64_t room = limits_.max_bytes - charged_;
    // A sparse entry declares its full size: it counts whole, so a "1 TiB" file of holes
    // is refused here without a byte being written.
    if (whole_blocks(static_cast<std::uint64_t>(declared)) > room) throw too_big(p);
    Fd fd = writer_.regular_file(p);
    std::uint64_t end = 0;
    for (;;) {
      const void* buf = nullptr;
      size_t len = 0;
      la_int64_t offset = 0;
      int r = archive_read_data_block(a_, &buf, &len, &offset);
      if (r == ARCHIVE_EOF) break;
      if (r != ARCHIVE_OK) throw read_error(e);
      if (offset < 0) throw entry_error(label_, p.raw, "negative data offset");
      std::uint64_t block_end = static_cast<std::uint64_t>(offset) + len;
      // Checked per block as well: the running total is what a bomb cannot lie about.
      if (block_end > room) throw too_big(p);
      write_all(fd.get(), static_cast<const char*>(buf), len, offset, p);
      end = std::max(end, block_end);
      since_check_ += len;
      if (since_check_ >= interrupt_every_bytes) {
        since_check_ = 0;
        check_interrupt();
        report_progress(false);
      }
    }
    std::uint64_t size = std::max(end, static_cast<std::uint64_t>(declared));
    charge(p, whole_blocks(size));
    writer_.finish_file(fd.get(), p, meta, size);
    stats_.bytes += size;
  }

  void write_all(int fd, const char* data, std::size_t len, la_int64_t offset, const EntryPath& p) {
    while (len > 0) {
      ssize_t n = ::pwrite(fd, data, len, static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        throw sys_error("write", fmt::format("{}: entry {}", label_, quote_name(p.raw)));
      }
      data += n;
      len -= static_cast<std::size_t>(n);
      offset += n;
    }
  }

  archive* a_;
  std::string label_;
  TreeWriter writer_;
  ExtractLimits limits_;
  const ProgressFn& progress_;
  std::uint64_t total_;
  const Decoder* decoder_;  // the image's decoding thread, when there is one
  ExtractStats stats_;
  std::uint64_t charged_ = 0;  // against rootfs.max_bytes: see kEntryBlock
  std::string last_;
  std::uint64_t since_check_ = 0;
  std::chrono::steady_clock::time_point last_progress_{};
};

// libarchive converts pax names (UTF-8 by definition) to the charset of the current
// locale, and under the "C" locale every non-ASCII name becomes a warning, which we treat
// as an error. Reading under C.UTF-8 (for this thread only) keeps names as the bytes the
// archive holds, as GNU tar does.
class Utf8Names {
 public:
  Utf8Names() : utf8_(::newlocale(LC_CTYPE_MASK, "C.UTF-8", nullptr)) {
    if (utf8_ != nullptr) previous_ = ::uselocale(utf8_);
  }
  Utf8Names(const Utf8Names&) = delete;
  Utf8Names& operator=(const Utf8Names&) = delete;
  ~Utf8Names() {
    if (utf8_ == nullptr) return;
    ::uselocale(previous_);
    ::freelocale(utf8_);
  }

 private:
  locale_t utf8_;
  locale_t previous_ = nullptr;
};

template <typename Open>
ExtractStats extract_with(Open open, std::string_view label, const std::filesystem::path& dest,
                          const ExtractLimits& limits, const ProgressFn& progress, std::uint64_t total,
                          const Decoder* decoder = nullptr) {
  Utf8Names names;
  Reader a = new_reader();
  if (open(a.get()) != ARCHIVE_OK) {
    const char* why = archive_error_string(a.get());
    throw make_error(ExitCode::bad_input, "{}: not a tar archive ({})", label, why != nullptr ? why : "cannot open");
  }
  Extractor x(a.get(), label, dest, limits, progress, total, decoder);  // checks that `dest` is empty
  try {
    return x.run();
  } catch (...) {
    // What was written so far is removed now; the caller removes `dest` itself.
    try {
      remove_tree_contents(dest);
    } catch (const std::exception&) {
    }
    throw;
  }
}

}  // namespace

ExtractStats extract_archive_fd(int fd, std::string_view label, const std::filesystem::path& dest,
                                const ExtractLimits& limits, const ProgressFn& progress) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw sys_error("fstat", label, errno, ExitCode::bad_input);
  auto total = static_cast<std::uint64_t>(st.st_size);
  // Declared first, so that it is stopped and joined after the tar reader is freed.
  Decoder decoder(fd);
  return extract_with(
      [&decoder](archive* a) { return archive_read_open(a, &decoder, nullptr, &Decoder::read, nullptr); }, label, dest,
      limits, progress, total, &decoder);
}

void extract_archive(const std::filesystem::path& image, const std::filesystem::path& dest,
                     const ExtractLimits& limits, const ProgressFn& progress) {
  Fd fd = open_regular_file(image, "rootfs image", ExitCode::bad_input);
  extract_archive_fd(fd.get(), image.string(), dest, limits, progress);
}

void extract_archive_memory(const void* data, std::size_t size, const std::filesystem::path& dest,
                            const ExtractLimits& limits) {
  extract_with([&](archive* a) { return archive_read_open_memory(a, data, size); }, "<memory>", dest, limits, {},
               size);
}

}  // namespace gatebox
