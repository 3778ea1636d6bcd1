#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "rootfs/image_env.hpp"
#include "util/fs.hpp"

using namespace gatebox;
namespace fs = std::filesystem;

namespace {

// A rootfs tree with an etc/ folder, removed afterwards (util/fs's TempDir).
struct Tree {
  TempDir dir{fs::temp_directory_path(), "gatebox-image-env-"};
  fs::path root = dir.path();
  Tree() { fs::create_directories(root / "etc"); }
  void passwd(const std::string& text) const { std::ofstream(root / "etc/passwd") << text; }
};

}  // namespace

TEST_SUITE("rootfs::image_env") {
  TEST_CASE("HOME is the user's home in the image's /etc/passwd, else /") {
    Tree t;
    t.passwd("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
    CHECK(image_home(t.root, 0) == "/root");
    CHECK(image_home(t.root, 65534) == "/nonexistent");
    CHECK_FALSE(image_home(t.root, 1000).has_value());

    Profile p;
    p.run.uid = 1000;
    apply_image_environment(p, t.root);
    CHECK(p.run.env.at("HOME") == "/");
    p.run.env.erase("HOME");
    p.run.uid = 65534;
    apply_image_environment(p, t.root);
    CHECK(p.run.env.at("HOME") == "/nonexistent");
  }

  TEST_CASE("the profile's own HOME and HOSTNAME win") {
    Tree t;
    t.passwd("nobody:x:65534:65534::/home:/bin/false\n");
    Profile p;
    p.run.env["HOME"] = "/work";
    p.run.env["HOSTNAME"] = "mine";
    apply_image_environment(p, t.root);
    CHECK(p.run.env.at("HOME") == "/work");
    CHECK(p.run.env.at("HOSTNAME") == "mine");
  }

  TEST_CASE("HOSTNAME is run.hostname, as Docker and the kubelet set it") {
    Tree t;
    Profile p;
    p.run.hostname = "ci-gate";
    apply_image_environment(p, t.root);
    CHECK(p.run.env.at("HOSTNAME") == "ci-gate");
  }

  TEST_CASE("a hostile or odd /etc/passwd is never followed out of the tree, nor trusted") {
    Tree t;
    // An absolute symlink resolves inside the tree, not to the host's /etc/passwd.
    fs::create_symlink("/etc/real-passwd", t.root / "etc/passwd");
    std::ofstream(t.root / "etc/real-passwd") << "root:x:0:0::/inside:/bin/sh\n";
    CHECK(image_home(t.root, 0) == "/inside");
    fs::remove(t.root / "etc/passwd");
    fs::create_symlink("../../../../../../etc/passwd", t.root / "etc/passwd");
    CHECK_FALSE(image_home(t.root, 0).has_value());  // the host's root is not found
    fs::remove(t.root / "etc/passwd");
    // A FIFO is not read (and never blocks); a relative home and short lines are ignored.
    REQUIRE(::mkfifo((t.root / "etc/passwd").c_str(), 0644) == 0);
    CHECK_FALSE(image_home(t.root, 0).has_value());
    fs::remove(t.root / "etc/passwd");
    t.passwd("short:x:0\nrel:x:5:5::home/rel:/bin/sh\nbad:x:5x:5::/x:/bin/sh\n");
    CHECK_FALSE(image_home(t.root, 0).has_value());
    CHECK_FALSE(image_home(t.root, 5).has_value());
  }
}
