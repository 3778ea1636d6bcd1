#include <archive_entry.h>
#include <doctest/doctest.h>
#include <locale.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <random>

#include "archive_builder.hpp"
#include "rootfs/rootfs.hpp"
#include "rootfs_test_util.hpp"
#include "util/interrupt.hpp"

using namespace gatebox;
namespace fs = std::filesystem;
using gatebox::test::ArchiveBuilder;
using gatebox::test::expect_error;
using gatebox::test::mode_of;
using gatebox::test::names_in;
using gatebox::test::Scratch;
using gatebox::test::slurp;

namespace {

constexpr ExtractLimits roomy{1ULL << 30, 100000};

// Builds one small rootfs-like archive with every kind of entry.
void build_sample(const fs::path& out, const std::string& filter) {
  ArchiveBuilder b(out, filter);
  b.dir("./", 0755)
      .dir("./etc/", 0755)
      .file("./etc/hostname", "gatebox\n", 0644)
      .dir("bin/", 0755)
      .file("bin/busybox", "#!busybox\n", 0755)
      .symlink("bin/sh", "busybox")
      .hardlink("bin/ls", "bin/busybox")
      .file("usr/lib/deep/file", "implicit parents\n");
  b.close();
}

// Every hostile archive must fail with 65, name the entry, and leave no trace anywhere.
void expect_refused(const std::function<void(ArchiveBuilder&, const fs::path&)>& entries, const std::string& fragment) {
  Scratch s;
  fs::path image = s.file("image.tar");
  {
    ArchiveBuilder b(image);
    entries(b, s.canary);
    b.close();
  }
  Error e = expect_error([&] { extract_archive(image, s.dest, roomy); });
  CHECK(e.code() == ExitCode::bad_input);
  CHECK_MESSAGE(std::string(e.what()).find(fragment) != std::string::npos, std::string(e.what()));
  CHECK(std::string(e.what()).rfind(image.string() + ": ", 0) == 0);
  CHECK(names_in(s.dest).empty());
  CHECK(s.canary_intact());
  CHECK(names_in(s.tmp.path()) == std::vector<std::string>{"canary", "dest", "image.tar"});
}

int run_in_child(const std::function<int()>& body) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int code = 99;
    try {
      code = body();
    } catch (const Error& e) {
      code = static_cast<int>(e.code());
    } catch (...) {
    }
    ::_exit(code);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

}  // namespace

TEST_SUITE("rootfs::extract") {
  TEST_CASE("every supported compression unpacks the same tree") {
    for (std::string filter : {"none", "gzip", "xz", "zstd", "bzip2"}) {
      CAPTURE(filter);
      Scratch s;
      fs::path image = s.file("image.tar." + filter);
      build_sample(image, filter);
      extract_archive(image, s.dest, roomy);
      CHECK(slurp(s.dest / "etc/hostname") == "gatebox\n");
      CHECK(mode_of(s.dest / "bin/busybox") == 0755);
      CHECK(fs::read_symlink(s.dest / "bin/sh") == "busybox");
      CHECK(fs::equivalent(s.dest / "bin/ls", s.dest / "bin/busybox"));
      CHECK(slurp(s.dest / "usr/lib/deep/file") == "implicit parents\n");
      CHECK(mode_of(s.dest / "usr/lib") == 0755);
      CHECK(mode_of(s.dest) == 0755);
      struct stat st {};
      REQUIRE(::stat((s.dest / "etc/hostname").c_str(), &st) == 0);
      CHECK(st.st_mtim.tv_sec == 1'600'000'000);
    }
  }

  TEST_CASE("the in-memory entry point unpacks too") {
    Scratch s;
    build_sample(s.file("image.tar.zst"), "zstd");
    std::string bytes = slurp(s.file("image.tar.zst"));
    extract_archive_memory(bytes.data(), bytes.size(), s.dest, roomy);
    CHECK(slurp(s.dest / "etc/hostname") == "gatebox\n");
  }

  TEST_CASE("non-ASCII names in pax headers unpack under the C locale") {
    Scratch s;
    fs::path image = s.file("image.tar");
    const std::string name = "usr/share/ca-certificates/F\xc5\x91tan\xc3\xbas\xc3\xadtv\xc3\xa1ny.crt";
    {
      // The writer needs a UTF-8 locale to produce pax names; gatebox itself runs under "C".
      locale_t utf8 = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", nullptr);
      REQUIRE(utf8 != nullptr);
      locale_t old = ::uselocale(utf8);
      ArchiveBuilder b(image);
      b.file(name, "cert");
      b.close();
      ::uselocale(old);
      ::freelocale(utf8);
    }
    extract_archive(image, s.dest, roomy);
    CHECK(slurp(s.dest / name) == "cert");
  }

  TEST_CASE("paths that leave the destination are refused") {
    expect_refused([](ArchiveBuilder& b, const fs::path&) { b.file("a/../../etc/passwd", "x"); },
                   "entry 'a/../../etc/passwd': '..' is not allowed in archive paths");
    expect_refused([](ArchiveBuilder& b, const fs::path&) { b.file("../canary/keep", "x"); }, "'..' is not allowed");
    expect_refused([](ArchiveBuilder& b, const fs::path&) { b.file("/etc/passwd", "x"); },
                   "entry '/etc/passwd': absolute paths are not allowed");
    expect_refused([](ArchiveBuilder& b, const fs::path&) { b.dir("ok/").symlink("ok/up", "..").file("ok/..", "x"); },
                   "'..' is not allowed");
  }

  TEST_CASE("writes through symlinks are refused") {
    expect_refused([](ArchiveBuilder& b, const fs::path& canary) {
          b.symlink("link", canary.string()).file("link/file", "x");
        },
        "entry 'link/file': writes through the symlink 'link'");
    // A directory replaced by a symlink to / and then written through.
    expect_refused([](ArchiveBuilder& b, const fs::path&) { b.dir("a/").symlink("a", "/").file("a/b", "x"); },
                   "entry 'a': duplicate path");
    // Same with a directory that was only created as a parent.
    expect_refused([](ArchiveBuilder& b, const fs::path&) { b.file("a/x", "1").symlink("a", "/").file("a/b", "x"); },
                   "entry 'a': duplicate path");
    expect_refused([](ArchiveBuilder& b, const fs::path&) { b.file("f", "1").file("f/x", "2"); }, "'f' is not a directory");
  }

  TEST_CASE("hardlinks only to regular files already extracted from the archive") {
    expect_refused([](ArchiveBuilder& b, const fs::path&) { b.hardlink("h", "later").file("later", "x"); },
                   "entry 'h': hardlink to 'later', which is not a regular file");
    expect_refused([](ArchiveBuilder& b, const fs::path&) { b.hardlink("h", "../../etc/passwd"); }, "'..' is not allowed");
    expect_refused([](ArchiveBuilder& b, const fs::path&) { b.hardlink("h", "/etc/passwd"); }, "absolute paths are not allowed");
    expect_refused([](ArchiveBuilder& b, const fs::path&) { b.dir("d/").hardlink("h", "d"); }, "hardlink to 'd'");
    expect_refused([](ArchiveBuilder& b, const fs::path&) { b.symlink("s", "/etc/passwd").hardlink("h", "s"); }, "hardlink to 's'");
    expect_refused([](ArchiveBuilder& b, const fs::path&) { b.dir("./").hardlink("h", "./"); }, "hardlink to './'");
  }

  TEST_CASE("duplicate paths and control characters are refused") {
    expect_refused([](ArchiveBuilder& b, const fs::path&) { b.file("f", "1").file("./f", "2"); }, "entry './f': duplicate path");
    expect_refused([](ArchiveBuilder& b, const fs::path&) { b.dir("d/").dir("d"); }, "duplicate path");
    expect_refused([](ArchiveBuilder& b, const fs::path&) { b.file("bad\nname", "x"); },
                   "entry 'bad\\x0aname': control characters are not allowed");
    expect_refused([](ArchiveBuilder& b, const fs::path&) { b.file("del\x7f", "x"); }, "control characters");
    expect_refused([](ArchiveBuilder& b, const fs::path&) { b.symlink("s", "evil\x1b[2J"); }, "control characters are not allowed in symlink targets");
    expect_refused([](ArchiveBuilder& b, const fs::path&) { b.file(".", "x"); }, "entry '.': the archive root must be a directory");
  }

  TEST_CASE("devices, FIFOs and sockets are skipped; set-id bits are cleared") {
    Scratch s;
    fs::path image = s.file("image.tar");
    {
      ArchiveBuilder b(image);
      b.special("dev/null", AE_IFCHR).special("dev/sda", AE_IFBLK).special("run/fifo", AE_IFIFO);
      b.file("bin/su", "x", 04755).dir("shared/", 02775).dir("tmp/", 01777).file("bin/sg", "x", 02711);
      b.close();
    }
    extract_archive(image, s.dest, roomy);
    CHECK_FALSE(fs::exists(fs::symlink_status(s.dest / "dev/null")));
    CHECK_FALSE(fs::exists(fs::symlink_status(s.dest / "dev/sda")));
    CHECK_FALSE(fs::exists(fs::symlink_status(s.dest / "run/fifo")));
    CHECK(mode_of(s.dest / "bin/su") == 0755);
    CHECK(mode_of(s.dest / "bin/sg") == 0711);
    CHECK(mode_of(s.dest / "shared") == 0775);
    CHECK(mode_of(s.dest / "tmp") == 01777);
  }

  TEST_CASE("ownership is restored only for root") {
    Scratch s;
    fs::path image = s.file("image.tar");
    {
      ArchiveBuilder b(image);
      b.file("owned", "x", 0644, 1234, 4321);
      b.close();
    }
    extract_archive(image, s.dest, roomy);
    struct stat st {};
    REQUIRE(::lstat((s.dest / "owned").c_str(), &st) == 0);
    if (::geteuid() == 0) {
      CHECK(st.st_uid == 1234u);
      CHECK(st.st_gid == 4321u);
    } else {
      CHECK(st.st_uid == ::geteuid());
    }
  }

  TEST_CASE("read-only directories in the image do not stop an unprivileged unpack") {
    if (::geteuid() != 0) return;  // needs to switch to an unprivileged user
    Scratch s;
    fs::path image = s.file("image.tar");
    {
      ArchiveBuilder b(image);
      b.dir("ro/", 0555).file("ro/f", "x").dir("closed/", 0).file("closed/inner/g", "y", 0444).dir("./", 0500);
      b.close();
    }
    REQUIRE(::chown(s.dest.c_str(), 65534, 65534) == 0);
    REQUIRE(::chmod(s.tmp.path().c_str(), 0755) == 0);
    int code = run_in_child([&] {
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) return 90;
      extract_archive(image, s.dest, roomy);
      if (mode_of(s.dest / "ro") != 0555 || slurp(s.dest / "ro/f") != "x") return 91;
      if (mode_of(s.dest) != 0500) return 92;
      struct stat st {};
      if (::lstat((s.dest / "closed").c_str(), &st) != 0 || (st.st_mode & 07777) != 0) return 93;
      // The same user can remove the tree again, read-only parts and all.
      remove_tree_contents(s.dest);
      return names_in(s.dest).empty() ? 0 : 94;
    });
    CHECK(code == 0);
  }

  TEST_CASE("rootfs.max_entries and rootfs.max_bytes stop bombs") {
    Scratch s;
    fs::path many = s.file("many.tar");
    {
      ArchiveBuilder b(many);
      for (int i = 0; i < 20; ++i) b.file("f" + std::to_string(i), "x");
      b.close();
    }
    Error e = expect_error([&] { extract_archive(many, s.dest, {1ULL << 30, 10}); });
    CHECK(e.code() == ExitCode::bad_input);
    CHECK(std::string(e.what()).find("more than 10 entries (rootfs.max_entries)") != std::string::npos);
    CHECK(names_in(s.dest).empty());

    fs::path big = s.file("big.tar.gz");
    {
      ArchiveBuilder b(big, "gzip");
      for (int i = 0; i < 4; ++i) b.zeros("z" + std::to_string(i), 512 * 1024);
      b.close();
    }
    // Each entry costs a 4 KiB block besides its data: z1 brings 1 MiB + 8 KiB.
    e = expect_error([&] { extract_archive(big, s.dest, {1 << 20, 100}); });
    CHECK(e.code() == ExitCode::bad_input);
    CHECK(std::string(e.what()).find("entry 'z1': the unpacked image exceeds rootfs.max_bytes (1MiB)") !=
          std::string::npos);
    CHECK(names_in(s.dest).empty());
    CHECK(expect_error([&] { extract_archive(big, s.dest, {(2 << 20) + 4 * 4096 - 1, 100}); }).code() == ExitCode::bad_input);
    CHECK(names_in(s.dest).empty());
    extract_archive(big, s.dest, {(2 << 20) + 4 * 4096, 100});  // exactly at the limit is fine
    CHECK(fs::file_size(s.dest / "z3") == 512 * 1024);
  }

  TEST_CASE("directories, symlinks and empty files count against max_bytes too") {
    // 6,000 entries without a byte of file data once unpacked to 26 MiB under a 2 MiB limit.
    Scratch s;
    fs::path image = s.file("many.tar.gz");
    {
      ArchiveBuilder b(image, "gzip");
      for (int i = 0; i < 2000; ++i) {
        const std::string n = std::to_string(i);
        b.dir("d" + n + "/").symlink("l" + n, "d" + n).file("e" + n, "");
      }
      b.close();
    }
    Error e = expect_error([&] { extract_archive(image, s.dest, {2 << 20, 100000}); });
    CHECK(e.code() == ExitCode::bad_input);
    CHECK(std::string(e.what()).find("exceeds rootfs.max_bytes (2MiB)") != std::string::npos);
    CHECK(names_in(s.dest).empty());
    extract_archive(image, s.dest, {6000 * 4096, 100000});  // a block each fits
    CHECK(names_in(s.dest).size() == 6000);
  }

  TEST_CASE("file data counts in whole 4 KiB blocks") {
    Scratch s;
    fs::path image = s.file("small-files.tar");
    {
      ArchiveBuilder b(image);
      for (int i = 0; i < 10; ++i) b.file("f" + std::to_string(i), "x");  // 1 byte each: a block of data, a block of metadata
      b.close();
    }
    CHECK(expect_error([&] { extract_archive(image, s.dest, {10 * 8192 - 1, 100}); }).code() == ExitCode::bad_input);
    CHECK(names_in(s.dest).empty());
    extract_archive(image, s.dest, {10 * 8192, 100});
  }

  TEST_CASE("a gzip of 4 GiB of zeros fails against max_bytes within seconds") {
    Scratch s;
    fs::path bomb = s.file("bomb.tar.gz");
    {
      ArchiveBuilder b(bomb, "gzip", "pax", "gzip:compression-level=1");
      b.zeros("zeros", 4ULL << 30);
      b.close();
    }
    CHECK(fs::file_size(bomb) < (64u << 20));
    auto start = std::chrono::steady_clock::now();
    Error e = expect_error([&] { extract_archive(bomb, s.dest, {64ULL << 20, 1000}); });
    auto took = std::chrono::steady_clock::now() - start;
    CHECK(e.code() == ExitCode::bad_input);
    CHECK(std::string(e.what()).find("rootfs.max_bytes") != std::string::npos);
    CHECK(took < std::chrono::seconds(10));
    CHECK(names_in(s.dest).empty());
  }

  TEST_CASE("sparse entries count their full size and are written with holes") {
    Scratch s;
    fs::path huge = s.file("huge.tar");
    {
      ArchiveBuilder b(huge);
      b.sparse("huge", 1ULL << 40, 0, "data");
      b.close();
    }
    auto start = std::chrono::steady_clock::now();
    Error e = expect_error([&] { extract_archive(huge, s.dest, {1ULL << 30, 100}); });
    CHECK(e.code() == ExitCode::bad_input);
    CHECK(std::string(e.what()).find("entry 'huge': the unpacked image exceeds") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));

    fs::path small = s.file("small.tar");
    {
      ArchiveBuilder b(small);
      b.sparse("holes", 64ULL << 20, 32ULL << 20, "middle");
      b.close();
    }
    extract_archive(small, s.dest, {1ULL << 30, 100});
    CHECK(fs::file_size(s.dest / "holes") == (64ULL << 20));
    std::ifstream in(s.dest / "holes", std::ios::binary);
    in.seekg(32LL << 20);
    char buf[6] = {};
    in.read(buf, 6);
    CHECK(std::string(buf, 6) == "middle");
    struct stat st {};
    REQUIRE(::stat((s.dest / "holes").c_str(), &st) == 0);
    CHECK(st.st_blocks * 512 < (1 << 20));  // not 64 MiB on disk
  }

  TEST_CASE("anything but a tar stream is refused with 65") {
    Scratch s;
    fs::path zip = s.file("image.tar");
    {
      ArchiveBuilder b(zip, "none", "zip");
      b.file("hello", "world");
      b.close();
    }
    Error e = expect_error([&] { extract_archive(zip, s.dest, roomy); });
    CHECK(e.code() == ExitCode::bad_input);
    CHECK(std::string(e.what()).find(zip.string() + ": not a tar archive (") == 0);

    fs::path text = s.file("notes.tar.gz");
    std::ofstream(text) << "just some text, not an archive\n";
    CHECK(expect_error([&] { extract_archive(text, s.dest, roomy); }).code() == ExitCode::bad_input);

    CHECK(expect_error([&] { extract_archive(s.file("missing.tar"), s.dest, roomy); }).code() == ExitCode::bad_input);
    CHECK(expect_error([&] { extract_archive(s.canary, s.dest, roomy); }).code() == ExitCode::bad_input);
    CHECK(names_in(s.dest).empty());
  }

  TEST_CASE("truncated and corrupt streams are refused with 65") {
    Scratch s;
    fs::path good = s.file("good.tar.gz");
    std::string noise(1 << 20, '\0');
    std::mt19937 rng(42);
    for (char& c : noise) c = static_cast<char>(rng());
    {
      ArchiveBuilder b(good, "gzip");
      b.file("a", "first").file("noise", noise).file("z", "last");
      b.close();
    }
    std::string bytes = slurp(good);
    fs::path cut = s.file("cut.tar.gz");
    std::ofstream(cut, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
    Error e = expect_error([&] { extract_archive(cut, s.dest, roomy); });
    CHECK(e.code() == ExitCode::bad_input);
    CHECK_MESSAGE(std::string(e.what()).find("noise") != std::string::npos, std::string(e.what()));
    CHECK(names_in(s.dest).empty());

    // A damaged header checksum in the middle of a plain tar.
    fs::path plain = s.file("plain.tar");
    {
      ArchiveBuilder b(plain, "none", "ustar");
      b.file("a", "first").file("b", "second");
      b.close();
    }
    std::string tar = slurp(plain);
    tar[1024 + 148] ^= 0x5a;  // second header's checksum field
    std::ofstream(plain, std::ios::binary | std::ios::trunc).write(tar.data(), static_cast<std::streamsize>(tar.size()));
    e = expect_error([&] { extract_archive(plain, s.dest, roomy); });
    CHECK(e.code() == ExitCode::bad_input);
    CHECK(names_in(s.dest).empty());
  }

  TEST_CASE("a pending SIGINT aborts the unpack with 130 and leaves nothing") {
    Scratch s;
    fs::path image = s.file("image.tar");
    {
      ArchiveBuilder b(image);
      for (int i = 0; i < 1000; ++i) b.file("f" + std::to_string(i), "x");
      b.close();
    }
    int code = run_in_child([&] {
      install_interrupt_handling();
      ::raise(SIGINT);  // blocked, so it waits on the signalfd
      extract_archive(image, s.dest, roomy);
      return 0;
    });
    CHECK(code == 130);
    CHECK(names_in(s.dest).empty());
  }

  TEST_CASE("progress reports bytes of the image read, ending at its size") {
    Scratch s;
    fs::path image = s.file("image.tar.gz");
    build_sample(image, "gzip");
    std::vector<std::pair<std::uint64_t, std::uint64_t>> calls;
    extract_archive(image, s.dest, roomy, [&](std::uint64_t done, std::uint64_t total) { calls.emplace_back(done, total); });
    REQUIRE_FALSE(calls.empty());
    CHECK(calls.back().first == fs::file_size(image));
    CHECK(calls.back().second == fs::file_size(image));
    CHECK(calls.size() <= 3);  // throttled: a tiny image does not report per entry
  }

  TEST_CASE("the destination must be empty; long names and the root entry's mode work") {
    Scratch s;
    fs::path image = s.file("image.tar");
    std::string longname = std::string(200, 'n') + "/" + std::string(200, 'm');
    {
      ArchiveBuilder b(image);
      b.dir(".", 0750).file(longname, "long");
      b.close();
    }
    extract_archive(image, s.dest, roomy);
    CHECK(slurp(s.dest / longname) == "long");
    CHECK(mode_of(s.dest) == 0750);
    Error e = expect_error([&] { extract_archive(image, s.dest, roomy); });
    CHECK(std::string(e.what()).find("not empty") != std::string::npos);
    CHECK(slurp(s.dest / longname) == "long");  // a refused call does not touch what is there

    std::string too_long = std::string(256, 'x');
    expect_refused([&](ArchiveBuilder& b, const fs::path&) { b.file(too_long, "x"); }, "longer than 255 bytes");
  }
}
