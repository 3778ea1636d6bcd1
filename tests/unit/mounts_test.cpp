// Bind mounts: sandbox path normalisation and the checks against the host.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "policy/mounts.hpp"
#include "util/error.hpp"

using namespace gatebox;
namespace fs = std::filesystem;

namespace {

// A scratch folder on the host, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "gatebox-mounts-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

Profile profile_with(std::vector<MountSpec> mounts, fs::path base = "/") {
  Profile p;
  p.base_dir = std::move(base);
  p.mounts = std::move(mounts);
  return p;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::bad_input);
    return e.what();
  }
  FAIL("no error was thrown");
  return {};
}

}  // namespace

TEST_SUITE("policy::mounts") {
  TEST_CASE("sandbox paths are normalised") {
    CHECK(normalize_sandbox_path("/a/./b//c/") == "/a/b/c");
    CHECK(normalize_sandbox_path("/") == "/");
    CHECK(normalize_sandbox_path("//") == "/");
    CHECK(normalize_sandbox_path("/./") == "/");
    CHECK(normalize_sandbox_path("/src") == "/src");
    CHECK(normalize_sandbox_path("/a/...") == "/a/...");  // a name, not a parent reference
    CHECK(normalize_sandbox_path("/a/..b/c") == "/a/..b/c");
    CHECK(normalize_sandbox_path("/with space/ü") == "/with space/ü");
  }

  TEST_CASE("relative paths, '..' and control characters are refused") {
    CHECK_FALSE(normalize_sandbox_path(""));
    CHECK_FALSE(normalize_sandbox_path("src"));
    CHECK_FALSE(normalize_sandbox_path("./src"));
    CHECK_FALSE(normalize_sandbox_path("/a/../b"));
    CHECK_FALSE(normalize_sandbox_path("/a/.."));
    CHECK_FALSE(normalize_sandbox_path("/.."));
    CHECK_FALSE(normalize_sandbox_path("/a\nb"));
    CHECK_FALSE(normalize_sandbox_path("/a\tb"));
    CHECK_FALSE(normalize_sandbox_path("/a\x7f"));
    CHECK_FALSE(normalize_sandbox_path(std::string_view("/a\0b", 4)));
  }

  TEST_CASE("sources are resolved to real paths and targets normalised") {
    ScratchDir dir;
    fs::create_directory(dir.path() / "data");
    std::ofstream(dir.path() / "file.txt") << "x";
    fs::create_symlink(dir.path() / "data", dir.path() / "link");
    const std::string real = fs::canonical(dir.path()).string();

    auto mounts = resolve_mounts(profile_with({
        {dir.path() / "link", "/src/", true},
        {dir.path() / "file.txt", "/etc/./config.txt", false},
        {"data", "/relative", true},  // relative sources are relative to the profile's folder
    }, dir.path()));
    REQUIRE(mounts.size() == 3);
    CHECK(mounts[0].source == real + "/data");
    CHECK(mounts[0].target == "/src");
    CHECK(mounts[0].readonly);
    CHECK(mounts[0].is_dir);
    // Deeper targets come last, so the file mount is third.
    CHECK(mounts[1].source == real + "/data");
    CHECK(mounts[1].target == "/relative");
    CHECK(mounts[2].source == real + "/file.txt");
    CHECK(mounts[2].target == "/etc/config.txt");
    CHECK_FALSE(mounts[2].readonly);
    CHECK_FALSE(mounts[2].is_dir);
  }

  TEST_CASE("a mount inside another comes after it, whatever the profile order") {
    ScratchDir dir;
    auto mounts = resolve_mounts(profile_with({
        {dir.path(), "/work/cache/deep", true},
        {dir.path(), "/work", false},
        {dir.path(), "/opt", true},
    }));
    REQUIRE(mounts.size() == 3);
    CHECK(mounts[0].target == "/work");
    CHECK(mounts[1].target == "/opt");
    CHECK(mounts[2].target == "/work/cache/deep");
  }

  TEST_CASE("a missing source is named with its mount number") {
    ScratchDir dir;
    std::string missing = (dir.path() / "nope").string();
    CHECK(error_of([&] {
            resolve_mounts(profile_with({{dir.path(), "/a", true}, {missing, "/b", true}}));
          }) == "mount 2: source '" + missing + "' does not exist");
    CHECK(error_of([&] { resolve_mounts(profile_with({{dir.path() / "nope" / "deeper", "/a", true}})); })
              .starts_with("mount 1: source '"));
  }

  TEST_CASE("bad targets are refused") {
    ScratchDir dir;
    auto error_for = [&](std::string target) {
      return error_of([&] { resolve_mounts(profile_with({{dir.path(), target, true}})); });
    };
    CHECK(error_for("src").starts_with("mount 1: target 'src' must be an absolute path"));
    CHECK(error_for("/a/../etc").starts_with("mount 1: target '/a/../etc' must be an absolute path"));
    CHECK(error_for("/a\nb").find("'/a\\x0ab'") != std::string::npos);
    CHECK(error_for("/").starts_with("mount 1: target '/' would replace"));
    CHECK(error_for("//.").starts_with("mount 1: target '/' would replace"));
    CHECK(error_for("/proc") == "mount 1: target '/proc' is inside /proc, which the sandbox provides itself; "
                                "choose another target");
    CHECK(error_for("/proc/sys/kernel").find("inside /proc") != std::string::npos);
    CHECK(error_for("/dev/shm").find("inside /dev") != std::string::npos);
    CHECK(error_for("/sys/fs/cgroup/").find("inside /sys") != std::string::npos);
    // Only the folders themselves: similar names are ordinary targets.
    CHECK(resolve_mounts(profile_with({{dir.path(), "/devices", true}, {dir.path(), "/process", true}})).size() == 2);
  }

  TEST_CASE("two mounts on one target are refused, also when spelt differently") {
    ScratchDir dir;
    CHECK(error_of([&] {
            resolve_mounts(profile_with({{dir.path(), "/src", true}, {dir.path(), "/opt", true},
                                         {dir.path(), "/src/./", false}}));
          }) == "mount 3: target '/src' is already the target of mount 1");
  }

  TEST_CASE("device nodes cannot be mounted") {
    CHECK(error_of([] { resolve_mounts(profile_with({{"/dev/null", "/null", true}})); })
              .find("device node") != std::string::npos);
  }

  TEST_CASE("no mounts, no work") { CHECK(resolve_mounts(profile_with({})).empty()); }

  TEST_CASE("the source is opened once, and its path is read back from that descriptor") {
    ScratchDir dir;
    fs::create_directories(dir.path() / "data");
    fs::create_directory_symlink(dir.path() / "data", dir.path() / "link");
    auto mounts = resolve_mounts(profile_with({{dir.path() / "link", "/src", true}}));
    REQUIRE(mounts.size() == 1);
    REQUIRE(mounts[0].fd);
    const std::string real = fs::canonical(dir.path()).string() + "/data";
    CHECK(mounts[0].source == real);
    struct stat by_fd {}, by_path {};
    REQUIRE(fstat(mounts[0].fd->get(), &by_fd) == 0);
    REQUIRE(stat(real.c_str(), &by_path) == 0);
    CHECK(by_fd.st_ino == by_path.st_ino);
    CHECK_NOTHROW(check_source_unchanged(mounts[0]));

    // Swapped for a symlink to another directory after the check: refused by the stacks
    // that hand the path over, while the copying stacks still read the checked directory.
    std::ofstream(dir.path() / "data" / "mine.txt") << "mine";
    fs::create_directories(dir.path() / "other");
    fs::rename(dir.path() / "data", dir.path() / "moved");
    fs::create_directory_symlink(dir.path() / "other", dir.path() / "data");
    CHECK(error_of([&] { check_source_unchanged(mounts[0]); }).find("changed after gatebox checked it") !=
          std::string::npos);
    Fd opened = open_checked_source(mounts[0], O_RDONLY | O_DIRECTORY);
    CHECK(faccessat(opened.get(), "mine.txt", F_OK, 0) == 0);

    // A directory in its place is another file, too.
    fs::remove(dir.path() / "data");
    fs::create_directories(dir.path() / "data");
    CHECK_THROWS_AS(check_source_unchanged(mounts[0]), Error);
  }

  TEST_CASE("submounts below a source are found in mountinfo, escaped names too") {
    const std::string info =
        "22 1 0:21 / / rw - ext4 /dev/sda1 rw\n"
        "30 22 0:40 / /srv/data rw - ext4 /dev/sdb1 rw\n"
        "31 30 0:41 / /srv/data/cache rw,relatime - tmpfs tmpfs rw\n"
        "32 30 0:42 / /srv/data/my\\040dir rw - tmpfs tmpfs rw\n"
        "33 22 0:43 / /srv/database rw - tmpfs tmpfs rw\n";
    CHECK(submounts_below("/srv/data", info) == std::vector<std::string>{"/srv/data/cache", "/srv/data/my dir"});
    CHECK(submounts_below("/srv/database", info).empty());
    CHECK(submounts_below("/", info).size() == 4);

    ResolvedMount ro{"/srv/data", "/data", true, true, nullptr};
    ResolvedMount rw{"/srv/data", "/out", false, true, nullptr};
    CHECK(error_of([&] { refuse_readonly_submounts({ro}, "docker", info); }) ==
          "mount /srv/data -> /data: /srv/data/cache is a separate mount below the read-only source, and the "
          "docker stack can only make the top of a bind read-only, so the gate could write into it; unmount it, "
          "mount a directory with no mounts below it, or use the native stack");
    CHECK_NOTHROW(refuse_readonly_submounts({rw}, "docker", info));
    ResolvedMount plain{"/srv/database", "/db", true, true, nullptr};
    CHECK_NOTHROW(refuse_readonly_submounts({plain}, "gvisor", info));
  }

  TEST_CASE("mount targets in the rootfs tree: symlinks and files on the way are refused, the same for every stack") {
    ScratchDir tree;
    const fs::path& t = tree.path();
    fs::create_directories(t / "data");
    fs::create_directories(t / "opt/tools");
    std::ofstream(t / "etc-passwd") << "root:x:0:0::/root:/bin/sh\n";
    fs::create_symlink("/etc", t / "link");
    fs::create_symlink("data", t / "rel");
    auto dir = [](const char* target) { return ResolvedMount{"/srv/src", target, true, true, nullptr}; };
    auto file = [](const char* target) { return ResolvedMount{"/srv/file", target, true, false, nullptr}; };

    CHECK_NOTHROW(check_mount_targets({dir("/data"), dir("/opt/tools"), dir("/new/deep/dir")}, t));
    CHECK_NOTHROW(check_mount_targets({file("/etc-passwd"), file("/data/x.txt")}, t));
    CHECK(error_of([&] { check_mount_targets({dir("/link")}, t); }) ==
          "unsafe rootfs: mount target /link: /link is a symlink in the rootfs; a mount is placed only on a real "
          "directory (or file, for a file) or where nothing is (choose another target)");
    CHECK(error_of([&] { check_mount_targets({dir("/rel/sub")}, t); }).find("/rel is a symlink") != std::string::npos);
    CHECK(error_of([&] { check_mount_targets({dir("/etc-passwd/x")}, t); }).find("/etc-passwd is not a directory") !=
          std::string::npos);
    CHECK(error_of([&] { check_mount_targets({dir("/etc-passwd")}, t); }).find("the mount's source is one") !=
          std::string::npos);
    CHECK(error_of([&] { check_mount_targets({file("/data")}, t); }).find("the mount's source is a file") !=
          std::string::npos);
    // Below another mount's target, the path is in that mount's source: not the tree's business.
    CHECK_NOTHROW(check_mount_targets({dir("/data"), dir("/data/link/x")}, t));
    fs::create_symlink("/etc", t / "data/link");
    CHECK_NOTHROW(check_mount_targets({dir("/data"), dir("/data/link/x")}, t));
    CHECK_THROWS_AS(check_mount_targets({dir("/data/link/x")}, t), Error);
  }
}
