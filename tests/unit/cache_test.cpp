#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>

#include "archive_builder.hpp"
#include "rootfs/rootfs.hpp"
#include "rootfs/tree_identity.hpp"
#include "rootfs_test_util.hpp"
#include "util/interrupt.hpp"
#include "util/sha256.hpp"

using namespace gatebox;
namespace fs = std::filesystem;
using gatebox::test::ArchiveBuilder;
using gatebox::test::expect_error;
using gatebox::test::mode_of;
using gatebox::test::names_in;
using gatebox::test::Scratch;
using gatebox::test::slurp;

namespace {

struct CacheScratch : Scratch {
  fs::path cache = file("cache");
  fs::path image = file("image.tar.zst");
  Profile profile;

  explicit CacheScratch(const std::string& content = "hello\n") {
    write_image(content);
    profile.rootfs.image = image;
  }
  void write_image(const std::string& content) {
    ArchiveBuilder b(image, "zstd");
    b.dir("./").dir("etc/").file("etc/motd", content).dir("ro/", 0555).file("ro/f", "x", 0444);
    b.close();
  }
  std::vector<std::string> trees() const {
    std::vector<std::string> out;
    for (const std::string& n : names_in(cache / "rootfs")) {
      if (n.size() == 64) out.push_back(n);
    }
    return out;
  }
};

int wait_child(pid_t pid) {
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

pid_t spawn(const std::function<int()>& body) {
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
  return pid;
}

void age(const fs::path& p, int seconds) {
  timespec t[2];
  t[0].tv_sec = t[1].tv_sec = ::time(nullptr) - seconds;
  t[0].tv_nsec = t[1].tv_nsec = 0;
  REQUIRE(::utimensat(AT_FDCWD, p.c_str(), t, 0) == 0);
}

}  // namespace

TEST_SUITE("rootfs::cache") {
  TEST_CASE("the first prepare unpacks, the second hits without re-hashing") {
    CacheScratch s;
    std::string digest = sha256_file(s.image);
    {
      RootfsTree t = prepare_rootfs(s.profile, s.cache);
      CHECK_FALSE(t.cache_hit);
      CHECK(t.hashed);
      CHECK(t.sha256 == digest);
      CHECK(t.dir == s.cache / "rootfs" / digest);
      CHECK(slurp(t.dir / "etc/motd") == "hello\n");
      CHECK(mode_of(t.dir / "ro") == 0555);
      CHECK((mode_of(t.dir) & 0222) == 0);  // the top of a cached tree is not writable
      CHECK(t.lock.valid());
      CHECK(fs::exists(s.cache / "rootfs" / (digest + ".meta")));
    }
    RootfsTree again = prepare_rootfs(s.profile, s.cache);
    CHECK(again.cache_hit);
    CHECK_FALSE(again.hashed);  // the index knew this file
    CHECK(again.sha256 == digest);
    for (const char* d : {"", "rootfs", "tmp", "locks", "index"}) CHECK(mode_of(s.cache / d) == 0700);
    CHECK(names_in(s.cache / "tmp").empty());

    // A changed image is hashed again and unpacked into its own entry.
    s.write_image("changed\n");
    RootfsTree changed = prepare_rootfs(s.profile, s.cache);
    CHECK(changed.hashed);
    CHECK_FALSE(changed.cache_hit);
    CHECK(changed.sha256 != digest);
    CHECK(slurp(changed.dir / "etc/motd") == "changed\n");
  }

  TEST_CASE("rootfs.sha256 pins the digest") {
    CacheScratch s;
    std::string digest = sha256_file(s.image);
    s.profile.rootfs.sha256 = std::string(64, 'a');
    Error e = expect_error([&] { prepare_rootfs(s.profile, s.cache); });
    CHECK(e.code() == ExitCode::bad_input);
    CHECK(std::string(e.what()).find(std::string(64, 'a')) != std::string::npos);
    CHECK(std::string(e.what()).find(digest) != std::string::npos);
    CHECK(s.trees().empty());
    s.profile.rootfs.sha256 = digest;
    CHECK(prepare_rootfs(s.profile, s.cache).sha256 == digest);
  }

  TEST_CASE("a dir rootfs is used as it is") {
    CacheScratch s;
    Profile p;
    p.rootfs.dir = s.canary;
    RootfsTree t = prepare_rootfs(p, s.cache);
    CHECK(t.dir == s.canary);
    CHECK(t.sha256.empty());
    CHECK(t.cache_hit);
    p.rootfs.dir = s.file("missing");
    CHECK(expect_error([&] { prepare_rootfs(p, s.cache); }).code() == ExitCode::bad_input);
    p.rootfs.dir = s.canary / "keep";
    CHECK(expect_error([&] { prepare_rootfs(p, s.cache); }).code() == ExitCode::bad_input);
    CHECK_FALSE(fs::exists(s.cache));
  }

  TEST_CASE("two processes preparing the same image share one unpack") {
    CacheScratch s;
    auto body = [&] { return prepare_rootfs(s.profile, s.cache).cache_hit ? 10 : 20; };
    pid_t a = spawn(body);
    pid_t b = spawn(body);
    int ra = wait_child(a), rb = wait_child(b);
    CHECK(ra + rb == 30);  // one miss, one hit
    CHECK(s.trees().size() == 1);
    CHECK(names_in(s.cache / "tmp").empty());
  }

  TEST_CASE("a failed unpack leaves no tree to reuse") {
    CacheScratch s;
    s.profile.rootfs.max_bytes = 1;
    Error e = expect_error([&] { prepare_rootfs(s.profile, s.cache); });
    CHECK(e.code() == ExitCode::bad_input);
    CHECK(std::string(e.what()).find("rootfs.max_bytes") != std::string::npos);
    CHECK(s.trees().empty());
    CHECK(names_in(s.cache / "tmp").empty());
    CHECK(cache_list(s.cache).empty());
    s.profile.rootfs.max_bytes = 1 << 20;
    CHECK_FALSE(prepare_rootfs(s.profile, s.cache).cache_hit);
  }

  TEST_CASE("an image that is a FIFO is refused at once, naming it, not waited on") {
    CacheScratch s;
    fs::path fifo = s.file("image-fifo.tar");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    s.profile.rootfs.image = fifo;
    // In a child with an alarm: an open() that waits for a writer must fail the test, not hang it.
    const int code = wait_child(spawn([&] {
      ::alarm(10);
      try {
        prepare_rootfs(s.profile, s.cache);
      } catch (const Error& e) {
        const std::string msg = e.what();
        const bool named = msg.find("rootfs.image " + fifo.string()) != std::string::npos &&
                           msg.find("a FIFO (named pipe)") != std::string::npos;
        return named ? static_cast<int>(e.code()) : 98;
      }
      return 0;
    }));
    CHECK(code == 65);
    CHECK(s.trees().empty());
  }

  TEST_CASE("SIGTERM while unpacking ends with 143 and leaves no cache entry or temp dir") {
    CacheScratch s;
    {
      ArchiveBuilder b(s.image, "zstd");
      b.dir("./");
      for (int i = 0; i < 1000; ++i) b.file("f" + std::to_string(i), "x");
      b.close();
    }
    const int code = wait_child(spawn([&] {
      install_interrupt_handling();
      // The signal arrives once unpacking has begun (the first progress report).
      prepare_rootfs(s.profile, s.cache, [](std::uint64_t, std::uint64_t) { ::raise(SIGTERM); });
      return 0;
    }));
    CHECK(code == 143);
    CHECK(s.trees().empty());
    CHECK(names_in(s.cache / "tmp").empty());
    for (const std::string& n : names_in(s.cache / "rootfs")) CHECK_MESSAGE(n.find(".meta") == std::string::npos, n);
    CHECK(cache_list(s.cache).empty());
  }

  TEST_CASE("list, clear and prune skip entries in use") {
    CacheScratch s;
    std::optional<RootfsTree> held = prepare_rootfs(s.profile, s.cache);
    std::vector<CacheEntry> list = cache_list(s.cache);
    REQUIRE(list.size() == 1);
    CHECK(list[0].sha256 == held->sha256);
    CHECK(list[0].in_use);
    CHECK(list[0].bytes == 7);  // "hello\n" + "x"
    CHECK(list[0].last_used > ::time(nullptr) - 60);
    CHECK(cache_clear(s.cache).empty());
    CHECK(s.trees().size() == 1);

    held.reset();
    CHECK_FALSE(cache_list(s.cache)[0].in_use);
    CHECK(cache_prune(s.cache, std::chrono::hours(24)).empty());  // recently used: kept
    std::vector<std::string> lines = cache_clear(s.cache);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].rfind("removed rootfs ", 0) == 0);
    CHECK(lines[0].find(list[0].sha256.substr(0, 12)) != std::string::npos);
    CHECK(s.trees().empty());
    CHECK_FALSE(fs::exists(s.cache / "rootfs" / (list[0].sha256 + ".meta")));
    CHECK(names_in(s.cache / "tmp").empty());
  }

  TEST_CASE("prune removes old entries and what dead processes left") {
    CacheScratch s;
    std::string old_sha = prepare_rootfs(s.profile, s.cache).sha256;
    s.write_image("newer\n");
    std::string new_sha = prepare_rootfs(s.profile, s.cache).sha256;
    age(s.cache / "rootfs" / (old_sha + ".meta"), 3 * 86400);

    pid_t dead = spawn([] { return 0; });
    wait_child(dead);
    fs::path stale = s.cache / "tmp" / ("extract-" + std::to_string(dead) + "-abcdef");
    fs::create_directories(stale / "usr/bin");
    ::chmod((stale / "usr").c_str(), 0555);
    fs::path live = s.cache / "tmp" / ("run-" + std::to_string(::getpid()) + "-abcdef");
    fs::create_directories(live);

    std::vector<std::string> lines = cache_prune(s.cache, std::chrono::hours(24));
    CHECK(lines.size() == 2);
    CHECK_FALSE(fs::exists(stale));
    CHECK(fs::exists(live));
    CHECK(s.trees() == std::vector<std::string>{new_sha});
    CHECK(cache_tmp_dir(s.cache) == s.cache / "tmp");
  }

  TEST_CASE("default_cache_dir follows GATEBOX_CACHE, then root, then XDG, then HOME") {
    std::string saved = std::getenv("GATEBOX_CACHE") != nullptr ? std::getenv("GATEBOX_CACHE") : "";
    ::setenv("GATEBOX_CACHE", "/somewhere/cache", 1);
    CHECK(default_cache_dir() == "/somewhere/cache");
    ::unsetenv("GATEBOX_CACHE");
    if (::geteuid() == 0) {
      CHECK(default_cache_dir() == "/var/cache/gatebox");
      pid_t pid = spawn([] {
        if (::setuid(65534) != 0) return 90;
        ::setenv("XDG_CACHE_HOME", "/xdg", 1);
        if (default_cache_dir() != "/xdg/gatebox") return 91;
        ::unsetenv("XDG_CACHE_HOME");
        ::setenv("HOME", "/home/u", 1);
        if (default_cache_dir() != "/home/u/.cache/gatebox") return 92;
        return 0;
      });
      CHECK(wait_child(pid) == 0);
    }
    if (!saved.empty()) ::setenv("GATEBOX_CACHE", saved.c_str(), 1);
  }
  TEST_CASE("rootfs_identity: the image's digest, or a digest of a dir tree that any edit changes") {
    Scratch s;
    RootfsTree image_tree;
    image_tree.dir = s.dest;
    image_tree.sha256 = std::string(64, 'a');
    CHECK(rootfs_identity(image_tree) == image_tree.sha256);

    fs::create_directories(s.dest / "etc");
    std::ofstream(s.dest / "etc/motd") << "hello\n";
    RootfsTree dir_tree;
    dir_tree.dir = s.dest;
    const std::string first = rootfs_identity(dir_tree);
    CHECK(first.rfind("dir-", 0) == 0);
    CHECK(first.size() == 4 + 64);
    CHECK(rootfs_identity(dir_tree) == first);
    std::ofstream(s.dest / "etc/motd", std::ios::app) << "more\n";
    const std::string edited = rootfs_identity(dir_tree);
    CHECK(edited != first);
    ::chmod((s.dest / "etc/motd").c_str(), 0600);
    CHECK(rootfs_identity(dir_tree) != edited);
    CHECK(scan_rootfs_tree(s.dest).entries == 2);
    CHECK(scan_rootfs_tree(s.dest).bytes == 11);
    fs::create_symlink("motd", s.dest / "etc/link");
    const std::string linked = rootfs_identity(dir_tree);
    fs::remove(s.dest / "etc/link");
    fs::create_symlink("passwd", s.dest / "etc/link");
    CHECK(rootfs_identity(dir_tree) != linked);
    // A tree that cannot be read is an internal error, not an empty identity.
    dir_tree.dir = s.file("missing");
    CHECK_THROWS_AS(rootfs_identity(dir_tree), Error);
  }
}
