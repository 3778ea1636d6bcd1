#include <archive.h>
#include <archive_entry.h>
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>

#include "rootfs_test_util.hpp"
#include "stack/vm/kernel.hpp"
#include "stack/vm/kernel_search.hpp"

using namespace gatebox;
using namespace gatebox::vm;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& p, const std::string& data) {
  std::ofstream(p, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
}

void put32(std::string& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<char>(v >> (8 * i));
}

// A minimal ELF header: class, machine, then filler standing in for the kernel.
std::string fake_elf(unsigned char elf_class = 2, unsigned machine = 62) {
  std::string e(4096, 'k');
  std::memcpy(e.data(), "\x7f" "ELF", 4);
  e[4] = static_cast<char>(elf_class);
  e[18] = static_cast<char>(machine & 0xff);
  e[19] = static_cast<char>(machine >> 8);
  return e;
}

// A bare gzip stream, as the kernel build makes for CONFIG_KERNEL_GZIP.
std::string gzip(const std::string& data) {
  std::string out(data.size() + 4096, '\0');
  size_t used = 0;
  archive* a = archive_write_new();
  REQUIRE(archive_write_add_filter_gzip(a) == ARCHIVE_OK);
  REQUIRE(archive_write_set_format_raw(a) == ARCHIVE_OK);
  archive_write_set_bytes_in_last_block(a, 1);
  REQUIRE(archive_write_open_memory(a, out.data(), out.size(), &used) == ARCHIVE_OK);
  archive_entry* e = archive_entry_new();
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
  REQUIRE(archive_write_header(a, e) == ARCHIVE_OK);
  REQUIRE(archive_write_data(a, data.data(), data.size()) == static_cast<la_ssize_t>(data.size()));
  REQUIRE(archive_write_close(a) == ARCHIVE_OK);
  archive_entry_free(e);
  archive_write_free(a);
  out.resize(used);
  return out;
}

// A bzImage as the boot protocol lays it out: setup sectors with the header, then the
// protected-mode code in which the compressed payload sits at payload_offset.
std::string fake_bzimage(const std::string& payload, unsigned setup_sects = 3, std::uint32_t payload_offset = 0x100) {
  unsigned sects = setup_sects == 0 ? 4 : setup_sects;
  std::string img((sects + 1) * 512 + payload_offset, '\0');
  img[0x1f1] = static_cast<char>(setup_sects);
  std::memcpy(img.data() + 0x202, "HdrS", 4);
  img[0x206] = 0x0f;  // protocol 2.15
  img[0x207] = 0x02;
  put32(img, 0x248, payload_offset);
  put32(img, 0x24c, static_cast<std::uint32_t>(payload.size()));
  return img + payload + std::string(300, 'T');
}

}  // namespace

TEST_SUITE("vm::kernel") {
  TEST_CASE("search order: /boot/vmlinuz-<release>, /boot/vmlinuz, /vmlinuz, then the newest vmlinuz-*") {
    test::Scratch s;
    fs::path boot = s.file("boot");
    fs::create_directory(boot);
    KernelPlaces places;
    places.release = "6.18.0-test";
    places.boot = boot;
    places.root_link = s.file("vmlinuz");
    std::string reason;

    write(boot / "vmlinuz-5.10.0-9-amd64", "old");
    write(boot / "vmlinuz-6.1.0-10-amd64", "newer");
    write(boot / "vmlinuz-6.1.0-9-amd64", "older");
    KernelChoice c = search_kernel(places, reason);
    CHECK(c.path == boot / "vmlinuz-6.1.0-10-amd64");  // version order, not text order

    fs::create_symlink(boot / "vmlinuz-5.10.0-9-amd64", places.root_link);
    CHECK(search_kernel(places, reason).path == places.root_link);
    write(boot / "vmlinuz", "plain");
    CHECK(search_kernel(places, reason).path == boot / "vmlinuz");
    write(boot / "vmlinuz-6.18.0-test", "running");
    c = search_kernel(places, reason);
    CHECK(c.path == boot / "vmlinuz-6.18.0-test");
    CHECK(c.source == (boot / "vmlinuz-6.18.0-test").string());

    places.env = (boot / "vmlinuz-5.10.0-9-amd64").string();
    c = search_kernel(places, reason);
    CHECK(c.source == "GATEBOX_KERNEL");
    places.configured = (boot / "vmlinuz-6.1.0-9-amd64").string();
    CHECK(search_kernel(places, reason).path == boot / "vmlinuz-6.1.0-9-amd64");
  }

  TEST_CASE("nothing found: the reason names every place looked at and how to fix it") {
    test::Scratch s;
    KernelPlaces places;
    places.release = "6.18.0-test";
    places.boot = s.file("boot");
    places.root_link = s.file("vmlinuz");
    fs::create_directory(places.boot);
    fs::create_symlink(s.file("gone"), places.root_link);  // dangling, like after a purge
    std::string reason;
    KernelChoice c = search_kernel(places, reason);
    CHECK(c.path.empty());
    CHECK(reason.find("GATEBOX_KERNEL (not set)") != std::string::npos);
    CHECK(reason.find((places.boot / "vmlinuz-6.18.0-test").string() + " (missing)") != std::string::npos);
    CHECK(reason.find((places.boot / "vmlinuz").string() + " (missing)") != std::string::npos);
    CHECK(reason.find(places.root_link.string() + " (missing)") != std::string::npos);
    CHECK(reason.find((places.boot / "vmlinuz-*").string() + " (none)") != std::string::npos);
    CHECK(reason.find("apt-get install linux-image-amd64") != std::string::npos);
  }

  TEST_CASE("an explicit kernel that is missing is an error, not a silent fallback") {
    test::Scratch s;
    KernelPlaces places;
    places.boot = s.file("boot");
    fs::create_directory(places.boot);
    write(places.boot / "vmlinuz", "there");
    places.env = s.file("nope").string();
    std::string reason;
    CHECK(search_kernel(places, reason).path.empty());
    CHECK(reason.find(s.file("nope").string()) != std::string::npos);
    CHECK(reason.find("GATEBOX_KERNEL") != std::string::npos);
  }

  TEST_CASE("find_kernel throws 69 with the reason") {
    ::setenv("GATEBOX_KERNEL", "/nonexistent/gatebox-kernel", 1);
    Error e = test::expect_error([] { find_kernel(""); });
    ::unsetenv("GATEBOX_KERNEL");
    CHECK(e.code() == ExitCode::unavailable);
    CHECK(std::string(e.what()).find("/nonexistent/gatebox-kernel") != std::string::npos);
  }

  TEST_CASE("an ELF kernel is used as it is") {
    test::Scratch s;
    write(s.file("vmlinux"), fake_elf());
    CHECK(elf_vmlinux(s.file("vmlinux"), s.file("cache")) == s.file("vmlinux"));
    CHECK_FALSE(fs::exists(s.file("cache") / "vm"));
    write(s.file("vmlinux32"), fake_elf(1, 3));
    Error e = test::expect_error([&] { elf_vmlinux(s.file("vmlinux32"), s.file("cache")); });
    CHECK(e.code() == ExitCode::unavailable);
    CHECK(std::string(e.what()).find("not a 64-bit x86 ELF") != std::string::npos);
  }

  TEST_CASE("a bzImage's payload is extracted once and cached by the bzImage's digest") {
    test::Scratch s;
    std::string elf = fake_elf() + std::string(100000, 'v');
    for (unsigned sects : {0u, 3u}) {
      CAPTURE(sects);
      fs::path kernel = s.file("bzImage-" + std::to_string(sects));
      write(kernel, fake_bzimage(gzip(elf), sects));
      fs::path out = elf_vmlinux(kernel, s.file("cache"));
      CHECK(out.parent_path() == s.file("cache") / "vm");
      CHECK(out.filename().string().rfind("vmlinux-", 0) == 0);
      CHECK(test::slurp(out) == elf);
      CHECK(test::mode_of(out) == 0644);
      struct stat before {};
      REQUIRE(::stat(out.c_str(), &before) == 0);
      CHECK(elf_vmlinux(kernel, s.file("cache")) == out);
      struct stat after {};
      REQUIRE(::stat(out.c_str(), &after) == 0);
      CHECK(after.st_ino == before.st_ino);
    }
    // Nothing half-written is left in the cache.
    for (const auto& e : fs::directory_iterator(s.file("cache") / "vm")) {
      CHECK(e.path().filename().string().find(".tmp-") == std::string::npos);
    }
  }

  TEST_CASE("damaged or foreign images give an error a user can act on") {
    test::Scratch s;
    write(s.file("text"), std::string(8192, 'x'));
    Error e = test::expect_error([&] { elf_vmlinux(s.file("text"), s.file("cache")); });
    CHECK(e.code() == ExitCode::unavailable);
    CHECK(std::string(e.what()).find("not a Linux kernel image") != std::string::npos);

    std::string img = fake_bzimage(gzip(fake_elf()));
    img.resize(img.size() - 400);  // the payload runs past the end
    write(s.file("short"), img);
    e = test::expect_error([&] { elf_vmlinux(s.file("short"), s.file("cache")); });
    CHECK(std::string(e.what()).find("does not fit") != std::string::npos);

    write(s.file("notelf"), fake_bzimage(gzip(std::string(5000, 'z'))));
    e = test::expect_error([&] { elf_vmlinux(s.file("notelf"), s.file("cache")); });
    CHECK(std::string(e.what()).find("not an ELF") != std::string::npos);

    write(s.file("lz4"), fake_bzimage(std::string("\x02\x21\x4c\x18", 4) + std::string(100, 'q')));
    e = test::expect_error([&] { elf_vmlinux(s.file("lz4"), s.file("cache")); });
    CHECK(std::string(e.what()).find("lz4") != std::string::npos);
    CHECK(std::string(e.what()).find("ELF vmlinux") != std::string::npos);
  }

  TEST_CASE("the host's Debian kernel yields an x86-64 ELF") {
    std::string reason;
    KernelChoice c = find_kernel_or_reason("", reason);
    if (c.path.empty()) {
      MESSAGE("skipped: no kernel on this host (" << reason << ")");
      return;
    }
    test::Scratch s;
    auto t0 = std::chrono::steady_clock::now();
    fs::path out = elf_vmlinux(c.path, s.file("cache"));
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    MESSAGE(c.path.string() << " (" << c.source << ") → " << fs::file_size(out) << " bytes of ELF in " << ms << " ms");
    std::string head = test::slurp(out).substr(0, 20);
    CHECK(head.substr(0, 4) == "\x7f" "ELF");
    CHECK(head[4] == 2);
    CHECK(static_cast<unsigned char>(head[18]) == 62);
  }
}
