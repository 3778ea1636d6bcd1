#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "rootfs_test_util.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"

using namespace gatebox;
namespace fs = std::filesystem;
using gatebox::test::names_in;
using gatebox::test::Scratch;

TEST_SUITE("util::fs") {
  TEST_CASE("remove_tree removes read-only directories but never follows symlinks") {
    Scratch s;
    fs::path t = s.file("tree");
    fs::create_directories(t / "a/b/c");
    std::ofstream(t / "a/b/c/f") << "x";
    fs::create_directory_symlink(s.canary, t / "a/to-canary");
    fs::create_symlink(s.canary / "keep", t / "a/b/keep-link");
    ::chmod((t / "a/b/c").c_str(), 0);
    ::chmod((t / "a/b").c_str(), 0555);
    ::chmod((t / "a").c_str(), 0500);
    remove_tree(t);
    CHECK_FALSE(fs::exists(fs::symlink_status(t)));
    CHECK(s.canary_intact());
    remove_tree(t);  // already gone: fine
    std::ofstream(t) << "plain file";
    remove_tree(t);
    CHECK_FALSE(fs::exists(t));
  }

  TEST_CASE("remove_tree handles trees deeper than the open-file limit") {
    Scratch s;
    fs::path t = s.file("deep");
    fs::create_directory(t);
    Fd cur(::open(t.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    for (int i = 0; i < 1500; ++i) {  // more levels than the usual 1024 descriptors
      REQUIRE(::mkdirat(cur.get(), "d", 0700) == 0);
      cur.reset(::openat(cur.get(), "d", O_PATH | O_DIRECTORY | O_CLOEXEC));
      REQUIRE(cur.valid());
    }
    cur.reset();
    remove_tree(t);
    CHECK_FALSE(fs::exists(t));
  }

  TEST_CASE("remove_tree refuses to cross into a mount point") {
    Scratch s;
    fs::path t = s.file("withmount");
    fs::create_directories(t / "m");
    if (::mount("gatebox-test", (t / "m").c_str(), "tmpfs", 0, "size=1m") != 0) return;  // needs privileges
    std::ofstream(t / "m/inside") << "x";
    Error e = test::expect_error([&] { remove_tree(t); });
    CHECK(std::string(e.what()).find("mount point") != std::string::npos);
    CHECK(fs::exists(t / "m/inside"));
    ::umount2((t / "m").c_str(), MNT_DETACH);
    remove_tree(t);
    CHECK_FALSE(fs::exists(t));
  }

  TEST_CASE("TempDir removes its directory unless released") {
    Scratch s;
    fs::path kept;
    {
      TempDir gone(s.tmp.path(), "x-");
      CHECK(test::mode_of(gone.path()) == 0700);
      fs::create_directories(gone.path() / "sub");
      ::chmod((gone.path() / "sub").c_str(), 0500);
      TempDir keep(s.tmp.path(), "y-");
      kept = keep.release();
    }
    CHECK(names_in(s.tmp.path()) == std::vector<std::string>{"canary", "dest", kept.filename().string()});
  }

  TEST_CASE("open_regular_file opens regular files and symlinks to them, and refuses anything else unopened") {
    Scratch s;
    std::ofstream(s.file("image.tar")) << "data";
    fs::create_symlink(s.file("image.tar"), s.file("link.tar"));
    REQUIRE(::mkfifo(s.file("fifo").c_str(), 0600) == 0);
    fs::create_symlink(s.file("fifo"), s.file("link-to-fifo"));
    CHECK(open_regular_file(s.file("image.tar"), "rootfs.image", ExitCode::bad_input).valid());
    CHECK(open_regular_file(s.file("link.tar"), "rootfs.image", ExitCode::bad_input).valid());
    CHECK(open_regular_file(s.dest, "profile", ExitCode::bad_input, true).valid());

    struct Refused {
      fs::path path;
      const char* kind;
    };
    for (const Refused& r : {Refused{s.file("fifo"), "a FIFO (named pipe)"}, Refused{s.file("link-to-fifo"), "a FIFO"},
                             Refused{"/dev/null", "a character device"}, Refused{s.dest, "a directory"}}) {
      CAPTURE(r.path);
      Error e = test::expect_error([&] { open_regular_file(r.path, "rootfs.image", ExitCode::bad_input); });
      CHECK(e.code() == ExitCode::bad_input);
      const std::string msg = e.what();
      CHECK_MESSAGE(msg.rfind("rootfs.image " + r.path.string(), 0) == 0, msg);
      CHECK_MESSAGE(msg.find(std::string("is ") + r.kind) != std::string::npos, msg);
    }
    Error missing = test::expect_error([&] { open_regular_file(s.file("missing"), "kernel", ExitCode::unavailable); });
    CHECK(missing.code() == ExitCode::unavailable);
    CHECK(std::string(missing.what()).find("No such file") != std::string::npos);
  }

  TEST_CASE("make_dirs creates missing parents with the given mode") {
    Scratch s;
    make_dirs(s.file("p/q/r"), 0700);
    CHECK(test::mode_of(s.file("p")) == 0700);
    CHECK(test::mode_of(s.file("p/q/r")) == 0700);
    std::ofstream(s.file("file")) << "x";
    CHECK(test::expect_error([&] { make_dirs(s.file("file")); }).code() == ExitCode::internal);
  }
}
