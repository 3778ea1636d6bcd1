#include <archive.h>
#include <archive_entry.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "stack/kubernetes/oci_image.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/sha256.hpp"

using namespace gatebox;
using namespace gatebox::kube;
namespace fs = std::filesystem;

namespace {

struct Listed {
  mode_t mode;  // type and permission bits
  std::string link;
  std::int64_t size;
};

// path → (mode, link target, size) of every entry of a tar file.
std::map<std::string, Listed> list_tar(const fs::path& file) {
  std::map<std::string, Listed> out;
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  REQUIRE(archive_read_open_filename(a, file.c_str(), 65536) == ARCHIVE_OK);
  archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    const char* hl = archive_entry_hardlink(e);
    const char* sl = archive_entry_symlink(e);
    out[archive_entry_pathname(e)] =
        Listed{archive_entry_mode(e), hl ? std::string("hard:") + hl : (sl ? sl : ""), archive_entry_size(e)};
  }
  archive_read_free(a);
  return out;
}

void write(const fs::path& p, const std::string& text, mode_t mode) {
  std::ofstream(p) << text;
  REQUIRE(::chmod(p.c_str(), mode) == 0);
}

// A small tree with fixed mtimes, so that two trees made at different times are equal.
void make_tree(const fs::path& root) {
  fs::create_directories(root / "bin");
  fs::create_directories(root / "etc/conf.d");
  fs::create_directories(root / "opt/data");
  write(root / "bin/tool", "#!/bin/sh\necho hi\n", 04755);
  write(root / "etc/motd", "hello\n", 0640);
  write(root / "opt/data/old", "hidden by the mount\n", 0644);
  fs::create_symlink("tool", root / "bin/alias");
  fs::create_hard_link(root / "bin/tool", root / "bin/tool2");
  REQUIRE(::chmod((root / "etc/conf.d").c_str(), 0700) == 0);
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    const struct timespec t[2] = {{1'700'000'000, 0}, {1'700'000'000, 0}};
    REQUIRE(::utimensat(AT_FDCWD, e.path().c_str(), t, AT_SYMLINK_NOFOLLOW) == 0);
  }
}

RootfsTree tree_at(const fs::path& dir, std::string sha) {
  RootfsTree t;
  t.dir = dir;
  t.sha256 = std::move(sha);
  return t;
}

const std::string kSha1(64, 'a');
const std::string kSha2(64, 'b');

}  // namespace

TEST_SUITE("kube::image") {
  TEST_CASE("the same tree gives the same digests; the layer lists the tree with its modes") {
    TempDir tmp(fs::temp_directory_path(), "gatebox-kimg-");
    make_tree(tmp.path() / "t1");
    make_tree(tmp.path() / "t2");
    const OciImage a = build_image(tree_at(tmp.path() / "t1", kSha1), {}, tmp.path() / "cache1");
    const OciImage b = build_image(tree_at(tmp.path() / "t2", kSha1), {}, tmp.path() / "cache2");
    REQUIRE(a.layers.size() == 1);
    CHECK(a.layers[0].digest == b.layers[0].digest);
    CHECK(a.config.digest == b.config.digest);
    CHECK(a.manifest_digest == b.manifest_digest);
    CHECK(a.manifest_digest == "sha256:" + sha256_hex(a.manifest));
    CHECK(a.layers[0].digest == "sha256:" + sha256_file(a.layers[0].file));
    CHECK(a.layers[0].size == fs::file_size(a.layers[0].file));
    CHECK(a.layers[0].file.parent_path() == tmp.path() / "cache1/kubernetes/layers");
    CHECK(a.temp_dir.empty());

    const nlohmann::json config = nlohmann::json::parse(a.config.bytes);
    CHECK(config["os"] == "linux");
    CHECK(config["rootfs"]["diff_ids"][0] == a.layers[0].digest);
    const nlohmann::json manifest = nlohmann::json::parse(a.manifest);
    CHECK(manifest["schemaVersion"] == 2);
    CHECK(manifest["mediaType"] == kManifestMediaType);
    CHECK(manifest["layers"][0]["mediaType"] == kLayerMediaType);
    CHECK(manifest["config"]["digest"] == a.config.digest);

    const auto listed = list_tar(a.layers[0].file);
    REQUIRE(listed.count("bin/tool") == 1);
    CHECK(listed.at("bin/tool").mode == (S_IFREG | 04755));
    CHECK(listed.at("etc/motd").mode == (S_IFREG | 0640));
    CHECK(listed.at("etc/conf.d/").mode == (S_IFDIR | 0700));
    CHECK(listed.at("bin/alias").link == "tool");
    CHECK(listed.at("bin/tool2").link == "hard:bin/tool");  // sorted: tool before tool2
    CHECK(listed.count("opt/data/old") == 1);

    // A second build finds the cached layer: same file, same digest.
    const OciImage again = build_image(tree_at(tmp.path() / "t1", kSha1), {}, tmp.path() / "cache1");
    CHECK(again.manifest_digest == a.manifest_digest);
  }

  TEST_CASE("a changed file changes the layer digest") {
    TempDir tmp(fs::temp_directory_path(), "gatebox-kimg-");
    make_tree(tmp.path() / "t1");
    make_tree(tmp.path() / "t2");
    write(tmp.path() / "t2/etc/motd", "hellO\n", 0640);
    const struct timespec t[2] = {{1'700'000'000, 0}, {1'700'000'000, 0}};
    REQUIRE(::utimensat(AT_FDCWD, (tmp.path() / "t2/etc/motd").c_str(), t, 0) == 0);
    const OciImage a = build_image(tree_at(tmp.path() / "t1", kSha1), {}, tmp.path() / "cache");
    const OciImage b = build_image(tree_at(tmp.path() / "t2", kSha2), {}, tmp.path() / "cache");
    CHECK(a.layers[0].digest != b.layers[0].digest);
    CHECK(a.manifest_digest != b.manifest_digest);
    // A dir rootfs (no image digest) is keyed by its listing, and is as deterministic.
    const OciImage d1 = build_image(tree_at(tmp.path() / "t1", ""), {}, tmp.path() / "cache");
    CHECK(d1.layers[0].digest == a.layers[0].digest);
  }

  TEST_CASE("read-only mounts become a second layer at their targets") {
    TempDir tmp(fs::temp_directory_path(), "gatebox-kimg-");
    make_tree(tmp.path() / "t");
    fs::create_directories(tmp.path() / "host/src/sub");
    write(tmp.path() / "host/src/sub/input.txt", "data\n", 0644);
    write(tmp.path() / "host/single.cfg", "x=1\n", 0600);
    std::vector<ResolvedMount> mounts{
        {(tmp.path() / "host/src").string(), "/opt/data", true, true},
        {(tmp.path() / "host/single.cfg").string(), "/srv/new/single.cfg", true, false},
    };
    const fs::path cache = tmp.path() / "cache";
    const OciImage img = build_image(tree_at(tmp.path() / "t", kSha1), mounts, cache);
    REQUIRE(img.layers.size() == 2);
    CHECK_FALSE(img.temp_dir.empty());
    CHECK(fs::exists(img.layers[1].file));
    const auto listed = list_tar(img.layers[1].file);
    CHECK(listed.count("opt/") == 1);
    CHECK(listed.count("opt/data/") == 1);
    CHECK(listed.count("opt/data/.wh..wh..opq") == 1);  // hides opt/data/old of the tree
    CHECK(listed.count("opt/data/sub/input.txt") == 1);
    CHECK(listed.at("srv/").mode == (S_IFDIR | 0755));
    CHECK(listed.at("srv/new/single.cfg").mode == (S_IFREG | 0600));
    CHECK(listed.count("etc/motd") == 0);
    const nlohmann::json config = nlohmann::json::parse(img.config.bytes);
    CHECK(config["rootfs"]["diff_ids"].size() == 2);
    discard_temp_blobs(img);
    CHECK_FALSE(fs::exists(img.temp_dir));
    CHECK(fs::exists(img.layers[0].file));  // the cached rootfs layer stays

    // A target below a symlink of the tree is refused.
    std::vector<ResolvedMount> through_link{{(tmp.path() / "host/single.cfg").string(), "/bin/alias/x", true, false}};
    CHECK_THROWS_AS(build_image(tree_at(tmp.path() / "t", kSha1), through_link, cache), Error);
  }
}
