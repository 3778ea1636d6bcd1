// Kernel discovery (docs/ARCHITECTURE.md §4.5) and the ELF vmlinux both VMMs boot: QEMU's
// PVH entry and Firecracker both need the uncompressed ELF, while distributions ship a
// bzImage, i.e. a real-mode setup stub followed by the compressed ELF.
#include <archive.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "rootfs/cache_layout.hpp"
#include "stack/vm/file_digest.hpp"
#include "stack/vm/kernel_search.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/fd.hpp"

namespace gatebox::vm {
namespace fs = std::filesystem;
namespace {

// Far above any real kernel (Debian's is ~60 MiB uncompressed): a bound on a hostile or
// corrupt payload, not a policy.
constexpr std::uint64_t kMaxVmlinux = 512ull << 20;

// What a candidate path turned out to be, for the message listing every place looked at.
enum class Probe { usable, missing, not_file, unreadable };

Probe probe(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return Probe::missing;
  if (!S_ISREG(st.st_mode)) return Probe::not_file;
  if (::access(p.c_str(), R_OK) != 0) return Probe::unreadable;
  return Probe::usable;
}

std::string describe(Probe p) {
  switch (p) {
    case Probe::usable: return "usable";
    case Probe::missing: return "missing";
    case Probe::not_file: return "not a regular file";
    case Probe::unreadable: return "not readable by this user";
  }
  return "?";
}

// "vmlinuz-<version>" files in `boot`, newest version first.
std::vector<fs::path> versioned_kernels(const fs::path& boot) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(boot, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.rfind("vmlinuz-", 0) == 0 && name.size() > 8 && name.find(".dpkg-") == std::string::npos) {
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end(),
            [](const std::string& a, const std::string& b) { return ::strverscmp(a.c_str(), b.c_str()) > 0; });
  std::vector<fs::path> out;
  for (const std::string& n : names) out.push_back(boot / n);
  return out;
}

std::uint32_t le32(std::string_view b, std::size_t at) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(b[at])) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 1])) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 2])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 3])) << 24;
}

bool is_elf(std::string_view head) { return head.size() >= 20 && head.substr(0, 4) == "\x7f" "ELF"; }

// ELFCLASS64 and EM_X86_64 (62): a 32-bit or foreign kernel would fail much later, inside
// the VMM, with a far less helpful message.
void check_x86_64_elf(std::string_view head, const fs::path& shown, std::string_view what) {
  if (!is_elf(head)) throw make_error(ExitCode::unavailable, "{}: {} is not an ELF file", shown.string(), what);
  unsigned machine = static_cast<unsigned char>(head[18]) | static_cast<unsigned char>(head[19]) << 8;
  if (head[4] != 2 || machine != 62) {
    throw make_error(ExitCode::unavailable, "{}: {} is not a 64-bit x86 ELF kernel (class {}, machine {})",
                     shown.string(), what, static_cast<int>(head[4]), machine);
  }
}

std::string read_at(int fd, std::size_t size, std::uint64_t offset, const fs::path& shown) {
  std::string buf(size, '\0');
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, buf.data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw sys_error("read", shown.string(), errno, ExitCode::unavailable);
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  buf.resize(done);
  return buf;
}


// The temp file of an extraction; removed unless committed.
struct TempFile {
  fs::path path;
  Fd fd;
  bool committed = false;
  ~TempFile() {
    if (!committed && !path.empty()) ::unlink(path.c_str());
  }
};

// Decompresses `payload` into `out` (libarchive's raw format: the payload is a bare
// compressed stream). The kernel's compressors are the ones libarchive reads except lz4
// and lzo, which the static gatebox does not link.
void decompress(const std::string& payload, int out, const fs::path& kernel, const fs::path& out_shown) {
  auto payload_error = [&](std::string_view why) {
    return make_error(ExitCode::unavailable,
                      "{}: cannot unpack the kernel inside this bzImage: {}; give the VM stacks an ELF vmlinux "
                      "instead (GATEBOX_KERNEL or stack.<vmm>.kernel; the kernel's scripts/extract-vmlinux makes one)",
                      kernel.string(), why);
  };
  if (payload.rfind("\x02\x21\x4c\x18", 0) == 0) throw payload_error("its payload is lz4-compressed, which gatebox cannot read");
  if (payload.rfind("\x89LZO", 0) == 0) throw payload_error("its payload is lzo-compressed, which gatebox cannot read");
  // The kernel build's record of the uncompressed size (gzip's own ISIZE, or size_append).
  if (le32(payload, payload.size() - 4) > kMaxVmlinux) throw payload_error("it says it decompresses to more than 512 MiB");
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
  if (!a) throw Error(ExitCode::internal, "libarchive: out of memory");
  archive_read_support_format_raw(a.get());
  archive_read_support_filter_gzip(a.get());
  archive_read_support_filter_xz(a.get());
  archive_read_support_filter_lzma(a.get());
  archive_read_support_filter_bzip2(a.get());
  archive_read_support_filter_zstd(a.get());
  // Every compressor but gzip is followed by the uncompressed size (4 bytes, the kernel
  // build's size_append), which some decoders would take for a damaged second stream.
  bool gzip = payload.rfind("\x1f\x8b", 0) == 0;
  std::size_t length = gzip ? payload.size() : payload.size() - 4;
  archive_entry* entry = nullptr;
  if (archive_read_open_memory(a.get(), payload.data(), length) != ARCHIVE_OK ||
      archive_read_next_header(a.get(), &entry) != ARCHIVE_OK) {
    throw payload_error(archive_error_string(a.get()) != nullptr ? archive_error_string(a.get()) : "unknown format");
  }
  if (archive_filter_count(a.get()) < 2) throw payload_error("its payload is not compressed in a format gatebox reads");
  std::vector<char> buf(1 << 20);
  std::uint64_t total = 0;
  for (;;) {
    la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
    if (n == 0) break;
    if (n < 0) {
      throw payload_error(fmt::format("{} data: {}", archive_filter_name(a.get(), 0),
                                      archive_error_string(a.get()) != nullptr ? archive_error_string(a.get()) : "?"));
    }
    total += static_cast<std::uint64_t>(n);
    if (total > kMaxVmlinux) throw payload_error("it decompresses to more than 512 MiB");
    write_all(out, buf.data(), static_cast<std::size_t>(n), out_shown);
  }
}

}  // namespace

KernelPlaces host_kernel_places(const std::string& configured) {
  KernelPlaces p;
  p.configured = configured;
  if (const char* env = std::getenv("GATEBOX_KERNEL"); env != nullptr && *env != '\0') p.env = env;
  utsname u {};
  if (::uname(&u) == 0) p.release = u.release;
  return p;
}

KernelChoice search_kernel(const KernelPlaces& places, std::string& reason) {
  reason.clear();
  // An explicit choice is never silently replaced by another kernel.
  auto explicit_choice = [&](const std::string& path, const std::string& source) -> KernelChoice {
    Probe p = probe(path);
    if (p == Probe::usable) return {path, source};
    reason = fmt::format("the guest kernel {} set by {} is {}; fix {} or unset it to use the kernel in /boot",
                         path, source, describe(p), source);
    return {};
  };
  if (!places.configured.empty()) return explicit_choice(places.configured, "stack.<vmm>.kernel in the profile");
  if (places.env) return explicit_choice(*places.env, "GATEBOX_KERNEL");

  std::vector<std::string> looked{"GATEBOX_KERNEL (not set)"};
  bool unreadable = false;
  auto try_path = [&](const fs::path& path, std::string source) -> KernelChoice {
    Probe p = probe(path);
    if (p == Probe::usable) return {path, std::move(source)};
    unreadable = unreadable || p == Probe::unreadable;
    looked.push_back(fmt::format("{} ({})", path.string(), describe(p)));
    return {};
  };
  if (!places.release.empty()) {
    fs::path p = places.boot / ("vmlinuz-" + places.release);
    if (auto c = try_path(p, p.string()); !c.path.empty()) return c;
  }
  for (const fs::path& p : {places.boot / "vmlinuz", places.root_link}) {
    if (auto c = try_path(p, p.string()); !c.path.empty()) return c;
  }
  std::vector<fs::path> others = versioned_kernels(places.boot);
  for (const fs::path& p : others) {
    if (auto c = try_path(p, "newest " + (places.boot / "vmlinuz-*").string()); !c.path.empty()) return c;
  }
  if (others.empty()) looked.push_back(fmt::format("{} (none)", (places.boot / "vmlinuz-*").string()));
  std::string all;
  for (const std::string& l : looked) all += (all.empty() ? "" : ", ") + l;
  reason = fmt::format("no guest kernel found (looked at {}); install one with `apt-get install linux-image-amd64`, "
                       "or set GATEBOX_KERNEL=/path/to/bzImage (or stack.<vmm>.kernel in the profile)",
                       all);
  if (unreadable) reason += "; a kernel that root alone may read can be copied somewhere readable and named in GATEBOX_KERNEL";
  return {};
}

KernelChoice find_kernel_or_reason(const std::string& configured, std::string& reason) {
  return search_kernel(host_kernel_places(configured), reason);
}

KernelChoice find_kernel(const std::string& configured) {
  std::string reason;
  KernelChoice c = find_kernel_or_reason(configured, reason);
  if (c.path.empty()) throw Error(ExitCode::unavailable, reason);
  return c;
}

BzPayload parse_bzimage(std::string_view head, std::uint64_t file_size, const fs::path& shown) {
  if (head.size() < 0x250 || head.substr(0x202, 4) != "HdrS") {
    throw make_error(ExitCode::unavailable,
                     "{}: not a Linux kernel image (neither an ELF vmlinux nor a bzImage with a boot "
                     "protocol header); point GATEBOX_KERNEL at a kernel such as /boot/vmlinuz-<release>",
                     shown.string());
  }
  unsigned version = static_cast<unsigned char>(head[0x206]) | static_cast<unsigned char>(head[0x207]) << 8;
  if (version < 0x208) {
    throw make_error(ExitCode::unavailable,
                     "{}: boot protocol {}.{:02} is too old to locate the compressed kernel (2.08 or later, Linux "
                     "2.6.26+); use a newer kernel or an ELF vmlinux",
                     shown.string(), version >> 8, version & 0xff);
  }
  unsigned setup_sects = static_cast<unsigned char>(head[0x1f1]);
  if (setup_sects == 0) setup_sects = 4;  // the boot protocol's historical meaning of 0
  BzPayload p;
  p.offset = (static_cast<std::uint64_t>(setup_sects) + 1) * 512 + le32(head, 0x248);
  p.length = le32(head, 0x24c);
  if (p.length < 8 || p.offset + p.length > file_size) {
    throw make_error(ExitCode::unavailable,
                     "{}: damaged bzImage: its payload ({} bytes at offset {}) does not fit in the file ({} bytes)",
                     shown.string(), p.length, p.offset, file_size);
  }
  return p;
}

void check_kernel_pin(const fs::path& kernel, const std::string& pin, const fs::path& cache_dir) {
  Fd fd(::open(kernel.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw sys_error("open", kernel.string(), errno, ExitCode::unavailable);
  const std::string digest = remembered_sha256(fd.get(), kernel, cache_dir);
  if (digest != pin) {
    throw make_error(ExitCode::bad_input,
                     "{}: its sha256 is {}, not the {} the site policy pins it to; the operator must update the "
                     "policy's kernels entry, or the kernel was replaced",
                     kernel.string(), digest, pin);
  }
}

fs::path elf_vmlinux(const fs::path& kernel, const fs::path& cache_dir) {
  Fd fd = open_regular_file(kernel, "kernel", ExitCode::unavailable);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw sys_error("fstat", kernel.string(), errno, ExitCode::unavailable);
  std::string head = read_at(fd.get(), 4096, 0, kernel);
  if (is_elf(head)) {
    check_x86_64_elf(head, kernel, "the kernel");
    return kernel;
  }
  BzPayload payload = parse_bzimage(head, static_cast<std::uint64_t>(st.st_size), kernel);

  fs::path dir = vm_cache_dir(cache_dir);
  fs::path out = dir / ("vmlinux-" + remembered_sha256(fd.get(), kernel, cache_dir));
  if (::access(out.c_str(), F_OK) == 0) return out;  // only ever appears by rename: complete

  // One extraction at a time; a concurrent first run waits, then finds the file.
  fs::path lock_path = dir / "vmlinux.lock";
  Fd lock = open_lock_file(lock_path);
  wait_for_lock(lock.get(), LOCK_EX, lock_path);
  if (::access(out.c_str(), F_OK) == 0) return out;
  sweep_stale_temp_files(dir);

  std::string data = read_at(fd.get(), payload.length, payload.offset, kernel);
  if (data.size() != payload.length) {
    throw make_error(ExitCode::unavailable, "{}: the file was truncated while being read", kernel.string());
  }
  TempFile tmp;
  tmp.path = out;
  tmp.path += fmt::format(".tmp-{}", ::getpid());
  tmp.fd.reset(::open(tmp.path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!tmp.fd) throw sys_error("open", tmp.path.string());
  decompress(data, tmp.fd.get(), kernel, tmp.path);
  check_x86_64_elf(read_at(tmp.fd.get(), 64, 0, tmp.path), kernel, "the kernel inside this bzImage");
  if (::fchmod(tmp.fd.get(), 0644) != 0) throw sys_error("chmod", tmp.path.string());
  if (::rename(tmp.path.c_str(), out.c_str()) != 0) throw sys_error("rename", out.string());
  tmp.committed = true;
  return out;
}

}  // namespace gatebox::vm
