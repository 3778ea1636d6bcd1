#include <archive.h>
#include <archive_entry.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <thread>

#include "rootfs_test_util.hpp"
#include "stack/vm/initramfs.hpp"
#include "stack/vm/initramfs_detail.hpp"
#include "stack/vm/vm_cache.hpp"

using namespace gatebox;
using namespace gatebox::vm;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& p, const std::string& data) {
  std::ofstream(p, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
}

struct Entry {
  mode_t type = 0;
  mode_t perm = 0;
  std::int64_t uid = -1, gid = -1, ino = 0;
  unsigned nlink = 0;
  std::string data, symlink;
};

// Every entry of one cpio archive (compressed or not) held in `bytes`.
std::map<std::string, Entry> read_cpio(const std::string& bytes) {
  std::map<std::string, Entry> out;
  archive* a = archive_read_new();
  archive_read_support_format_cpio(a);
  archive_read_support_filter_zstd(a);
  archive_read_support_filter_none(a);
  REQUIRE(archive_read_open_memory(a, bytes.data(), bytes.size()) == ARCHIVE_OK);
  archive_entry* ae = nullptr;
  int rc = ARCHIVE_OK;
  while ((rc = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
    Entry e;
    e.type = archive_entry_filetype(ae);
    e.perm = archive_entry_perm(ae);
    e.uid = archive_entry_uid(ae);
    e.gid = archive_entry_gid(ae);
    e.ino = archive_entry_ino64(ae);
    e.nlink = archive_entry_nlink(ae);
    if (archive_entry_symlink(ae) != nullptr) e.symlink = archive_entry_symlink(ae);
    char buf[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) e.data.append(buf, static_cast<std::size_t>(n));
    CHECK(n == 0);
    CHECK_MESSAGE(out.count(archive_entry_pathname(ae)) == 0, archive_entry_pathname(ae));
    out[archive_entry_pathname(ae)] = e;
  }
  CHECK(rc == ARCHIVE_EOF);
  archive_read_free(a);
  return out;
}

struct Fixture {
  test::Scratch s;
  fs::path tree = s.file("tree");
  fs::path agent = s.file("gatebox-init");
  fs::path cache = s.file("cache");

  Fixture() {
    fs::create_directories(tree / "bin");
    fs::create_directories(tree / "etc/private");
    write(tree / "bin/busybox", "BUSYBOX");
    fs::create_hard_link(tree / "bin/busybox", tree / "bin/ls");
    fs::create_symlink("busybox", tree / "bin/sh");
    write(tree / "etc/private/secret", "s3cret");
    ::chmod((tree / "etc/private/secret").c_str(), 0640);
    ::chmod((tree / "etc/private").c_str(), 0750);
    if (::geteuid() == 0) ::lchown((tree / "etc/private/secret").c_str(), 1234, 5678);
    ::mkfifo((tree / "etc/fifo").c_str(), 0600);
    // An image may not provide the agent's folder: its own is left out.
    fs::create_directories(tree / ".gatebox");
    write(tree / ".gatebox/init", "IMPOSTOR");
    write(agent, "AGENT v1");
    ::chmod(tree.c_str(), 0555);  // as the rootfs cache leaves its trees' tops
  }

  RootfsTree rootfs(const std::string& sha = std::string(64, 'a')) const {
    RootfsTree t;
    t.dir = tree;
    t.sha256 = sha;
    return t;
  }
};

struct stat stat_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st;
}

}  // namespace

TEST_SUITE("vm::initramfs") {
  TEST_CASE("the base image holds the tree with owners, modes, symlinks and hard links, plus the agent") {
    Fixture f;
    fs::path base = base_initramfs(f.rootfs(), f.agent, f.cache);
    CHECK(base.parent_path() == f.cache / "vm");
    CHECK(base.filename().string().rfind("initramfs-", 0) == 0);
    CHECK(base.extension() == ".cpio");
    std::string bytes = test::slurp(base);
    REQUIRE(bytes.size() > 6);
    CHECK(bytes.substr(0, 6) == "070701");  // newc, not compressed: unpacked fast even under TCG
    // Its RAM record: at least the tree's data, a page per entry.
    const std::uint64_t ram = base_initramfs_ram_bytes(base);
    CHECK(ram >= 4096 * 5);
    CHECK(ram < bytes.size() + (1u << 20));
    auto entries = read_cpio(bytes);

    REQUIRE(entries.count("bin/sh"));
    CHECK(entries["bin/sh"].type == AE_IFLNK);
    CHECK(entries["bin/sh"].symlink == "busybox");
    CHECK(entries["etc/private"].type == AE_IFDIR);
    CHECK(entries["etc/private"].perm == 0750);
    CHECK(entries["etc/private/secret"].perm == 0640);
    CHECK(entries["etc/private/secret"].data == "s3cret");
    if (::geteuid() == 0) {
      CHECK(entries["etc/private/secret"].uid == 1234);
      CHECK(entries["etc/private/secret"].gid == 5678);
    }
    CHECK(entries.count("etc/fifo") == 0);
    // The top: the tree's mode (the cache's read-only top made owner-writable again).
    REQUIRE(entries.count("."));
    CHECK(entries["."].perm == 0755);
    CHECK(entries["."].uid == 0);
    // Hard links: one inode, the data stored once (on the last link, as newc wants).
    Entry busybox = entries["bin/busybox"], ls = entries["bin/ls"];
    CHECK(busybox.ino == ls.ino);
    CHECK(busybox.nlink == 2);
    CHECK(busybox.data + ls.data == "BUSYBOX");
    // The agent, root-only, in a folder of gatebox's making.
    REQUIRE(entries.count(".gatebox/init"));
    CHECK(entries[".gatebox/init"].data == "AGENT v1");
    CHECK(entries[".gatebox/init"].perm == 0700);
    CHECK(entries[".gatebox/init"].uid == 0);
    CHECK(entries[".gatebox"].perm == 0700);
    CHECK(bytes.find("IMPOSTOR") == std::string::npos);
    for (const auto& [name, e] : entries) {
      CHECK_MESSAGE((name.rfind("./", 0) != 0 && name.front() != '/'), name);
    }
    // Parents come before their children: the kernel creates entries in order.
    CHECK(entries.count("etc"));
  }

  TEST_CASE("a cache hit returns the same file untouched; a new agent or rootfs gives a new key") {
    Fixture f;
    fs::path base = base_initramfs(f.rootfs(), f.agent, f.cache);
    struct stat before = stat_of(base);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(base_initramfs(f.rootfs(), f.agent, f.cache) == base);
    struct stat after = stat_of(base);
    CHECK(after.st_ino == before.st_ino);
    CHECK(after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
    CHECK(after.st_mtim.tv_sec == before.st_mtim.tv_sec);

    write(f.agent, "AGENT v2");
    fs::path rebuilt = base_initramfs(f.rootfs(), f.agent, f.cache);
    CHECK(rebuilt != base);
    CHECK(read_cpio(test::slurp(rebuilt))[".gatebox/init"].data == "AGENT v2");
    CHECK(base_initramfs(f.rootfs(std::string(64, 'b')), f.agent, f.cache) != rebuilt);
    CHECK(base_key("x", "y") != base_key("x", "z"));
    // No temp files or half-built images remain.
    for (const auto& e : fs::directory_iterator(f.cache / "vm")) {
      CHECK(e.path().filename().string().find(".tmp-") == std::string::npos);
    }
  }

  TEST_CASE("a `dir` rootfs is keyed by its listing: a changed file gives a new image") {
    Fixture f;
    fs::path first = base_initramfs(f.rootfs(""), f.agent, f.cache);
    CHECK(base_initramfs(f.rootfs(""), f.agent, f.cache) == first);
    write(f.tree / "etc/private/secret", "changed!");
    fs::path second = base_initramfs(f.rootfs(""), f.agent, f.cache);
    CHECK(second != first);
    CHECK(read_cpio(test::slurp(second))["etc/private/secret"].data == "changed!");
  }

  TEST_CASE("the base image's name carries its rootfs, and cache prune keeps only live trees' images") {
    const std::string sha(64, 'c'), key(64, 'd');
    CHECK(base_initramfs_name(sha, key) == "initramfs-" + sha + "-" + key + ".cpio");
    CHECK(rootfs_id_of_base_initramfs(base_initramfs_name(sha, key)) == sha);
    CHECK(rootfs_id_of_base_initramfs(base_initramfs_name(sha, key) + ".ram") == sha);  // its RAM record
    CHECK(rootfs_id_of_base_initramfs("initramfs-" + sha + "-" + key + ".cpio.zst") == sha);  // format 1
    CHECK(rootfs_id_of_base_initramfs(base_initramfs_name("dir-" + sha, key)) == "dir-" + sha);
    CHECK(rootfs_id_of_base_initramfs("initramfs-" + key + ".cpio.zst").empty());  // the older naming
    CHECK(rootfs_id_of_base_initramfs(base_initramfs_name("x", key)).empty());
    CHECK(rootfs_id_of_base_initramfs(base_initramfs_name(sha, "short")).empty());
    CHECK(rootfs_id_of_base_initramfs("initramfs.lock").empty());

    Fixture f;
    const fs::path kept = base_initramfs(f.rootfs(), f.agent, f.cache);
    const fs::path gone = base_initramfs(f.rootfs(std::string(64, 'b')), f.agent, f.cache);
    const fs::path dir_tree = base_initramfs(f.rootfs(""), f.agent, f.cache);
    CHECK(dir_tree.filename().string().rfind("initramfs-dir-", 0) == 0);
    write(f.cache / "vm" / ("initramfs-" + key + ".cpio.zst"), "older naming");
    write(f.cache / "vm" / ("initramfs-" + std::string(64, 'b') + "-" + key + ".cpio.zst"), "format 1, tree gone");
    write(f.cache / "vm" / ("vmlinux-" + sha), "current kernel");
    write(f.cache / "vm" / ("vmlinux-" + key), "older kernel");
    write(f.cache / "vm" / ("vmlinux-" + key + ".tmp-1"), "being written");
    std::vector<std::string> lines = clear_vm_files(f.cache, {f.rootfs().sha256}, "vmlinux-" + sha);
    CHECK(lines.size() == 7);  // two images and their records, two older images, a kernel
    CHECK(fs::exists(kept));
    CHECK(fs::exists(kept.string() + ".ram"));
    CHECK_FALSE(fs::exists(gone.string() + ".ram"));
    CHECK_FALSE(fs::exists(gone));
    CHECK_FALSE(fs::exists(dir_tree));
    CHECK_FALSE(fs::exists(f.cache / "vm" / ("initramfs-" + key + ".cpio.zst")));
    CHECK(fs::exists(f.cache / "vm" / ("vmlinux-" + sha)));
    CHECK_FALSE(fs::exists(f.cache / "vm" / ("vmlinux-" + key)));
    CHECK(fs::exists(f.cache / "vm" / ("vmlinux-" + key + ".tmp-1")));  // the temp-file sweep's
    CHECK(fs::exists(f.cache / "vm" / "initramfs.lock"));
    CHECK(clear_vm_files(f.cache, {f.rootfs().sha256}, "vmlinux-" + sha).empty());
  }

  TEST_CASE("concurrent first runs agree on one complete image") {
    Fixture f;
    fs::path a, b;
    std::string failure;
    auto build = [&](fs::path& out) {
      try {
        out = base_initramfs(f.rootfs(), f.agent, f.cache);
      } catch (const std::exception& e) {
        failure = e.what();
      }
    };
    std::thread t1([&] { build(a); });
    std::thread t2([&] { build(b); });
    t1.join();
    t2.join();
    INFO(failure);
    REQUIRE(failure.empty());
    CHECK(a == b);
    CHECK(read_cpio(test::slurp(a)).count(".gatebox/init") == 1);
  }

  TEST_CASE("the run image is the base, padded to 4 bytes, then a plain cpio with mounts and the job") {
    Fixture f;
    fs::path base = base_initramfs(f.rootfs(), f.agent, f.cache);
    fs::path src = f.s.file("data");
    fs::create_directories(src / "sub");
    write(src / "sub/input.txt", "hello");
    ::chmod((src / "sub").c_str(), 0711);
    fs::create_symlink("/etc/passwd", src / "escape");  // stored as a link, never followed
    write(src / "one", "1");
    fs::create_hard_link(src / "one", src / "uno");
    ::mkfifo((src / "pipe").c_str(), 0600);
    fs::path single = f.s.file("config.toml");
    write(single, "key = 1\n");
    ::chmod(single.c_str(), 0604);

    Job job;
    job.argv = {"/bin/sh", "-c", "cat /srv/data/sub/input.txt"};
    job.secret.fill(0x5a);
    job.cwd = "/srv";
    std::vector<ResolvedMount> mounts = {{src.string(), "/srv/data", true, true},
                                         {single.string(), "/etc/app/config.toml", true, false}};
    fs::path out = f.s.file("run.cpio");
    write_run_initramfs(base, job, mounts, out);

    std::string base_bytes = test::slurp(base), all = test::slurp(out);
    REQUIRE(all.size() > base_bytes.size());
    CHECK(all.substr(0, base_bytes.size()) == base_bytes);
    std::size_t second = (base_bytes.size() + 3) / 4 * 4;
    CHECK(all.substr(base_bytes.size(), second - base_bytes.size()) == std::string(second - base_bytes.size(), '\0'));
    CHECK(all.substr(second, 6) == "070701");
    CHECK(test::mode_of(out) == 0600);

    auto entries = read_cpio(all.substr(second));
    CHECK(entries["srv"].type == AE_IFDIR);
    CHECK(entries["srv"].perm == 0755);
    CHECK(entries["srv"].uid == 0);
    CHECK(entries["srv/data/sub"].perm == 0711);
    CHECK(entries["srv/data/sub/input.txt"].data == "hello");
    CHECK(entries["srv/data/escape"].type == AE_IFLNK);
    CHECK(entries["srv/data/escape"].symlink == "/etc/passwd");
    CHECK(entries.count("srv/data/pipe") == 0);
    CHECK(entries["srv/data/one"].ino == entries["srv/data/uno"].ino);
    CHECK(entries["srv/data/one"].data + entries["srv/data/uno"].data == "1");
    CHECK(entries["etc/app"].perm == 0755);
    CHECK(entries["etc/app/config.toml"].data == "key = 1\n");
    CHECK(entries["etc/app/config.toml"].perm == 0604);
    Entry jobfile = entries[".gatebox/job.json"];
    CHECK(jobfile.perm == 0600);
    CHECK(jobfile.uid == 0);
    CHECK(entries[".gatebox"].perm == 0700);
    Job back = job_from_json(jobfile.data);
    CHECK(back.argv == job.argv);
    CHECK(back.secret == job.secret);
    CHECK(back.cwd == "/srv");
  }

  TEST_CASE("mounts the guest cannot hold are refused, naming the mount, and leave no file") {
    Fixture f;
    fs::path base = base_initramfs(f.rootfs(), f.agent, f.cache);
    fs::path big = f.s.file("big");
    fs::create_directory(big);
    {
      std::ofstream(big / "sparse") << "";
      REQUIRE(::truncate((big / "sparse").c_str(), (1ll << 30) + 1) == 0);  // sparse: costs no disk
    }
    fs::path out = f.s.file("run.cpio");
    Job job;
    job.argv = {"/bin/true"};
    Error e = test::expect_error([&] { write_run_initramfs(base, job, {{big.string(), "/big", true, true}}, out); });
    CHECK(e.code() == ExitCode::bad_input);
    CHECK(std::string(e.what()).find(big.string()) != std::string::npos);
    CHECK(std::string(e.what()).find("RAM") != std::string::npos);
    CHECK_FALSE(fs::exists(out));

    e = test::expect_error([&] { write_run_initramfs(base, job, {{f.tree.string(), "/w", false, true}}, out); });
    CHECK(e.code() == ExitCode::bad_input);
    CHECK(std::string(e.what()).find("read-only") != std::string::npos);
    e = test::expect_error(
        [&] { write_run_initramfs(base, job, {{f.tree.string(), "/.gatebox/x", true, true}}, out); });
    CHECK(e.code() == ExitCode::bad_input);
    CHECK_FALSE(fs::exists(out));
  }

  TEST_CASE("find_agent honours GATEBOX_AGENT and says where it looked") {
    test::Scratch s;
    write(s.file("agent"), "x");
    ::setenv("GATEBOX_AGENT", s.file("agent").c_str(), 1);
    CHECK(find_agent() == s.file("agent"));
    ::setenv("GATEBOX_AGENT", s.file("missing").c_str(), 1);
    Error e = test::expect_error([] { find_agent(); });
    ::unsetenv("GATEBOX_AGENT");
    CHECK(e.code() == ExitCode::unavailable);
    CHECK(std::string(e.what()).find(s.file("missing").string()) != std::string::npos);
  }
}
