#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "rootfs_test_util.hpp"
#include "stack/native/child.hpp"

using namespace gatebox;
namespace fs = std::filesystem;
using gatebox::test::Scratch;

namespace {

// read_verdict_as_gate drops the calling process's credentials for good: each call runs in
// a child of its own, which reports the result as its exit status.
int read_in_child(const fs::path& file, uid_t uid, gid_t gid, const std::string& expected = "") {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    SetupPlan plan;
    plan.uid = uid;
    plan.gid = gid;
    plan.verdict_file = file.string();
    static char buf[kVerdictMax + 1];
    const std::int32_t len = read_verdict_as_gate(plan, buf, sizeof buf);
    if (len == kVerdictMissing) ::_exit(10);
    if (len == kVerdictUnsafe) ::_exit(11);
    const bool same = len >= 0 && std::string(buf, static_cast<std::size_t>(len)) == expected;
    // Still root after the read would mean the drop did not happen.
    ::_exit(same && ::geteuid() == uid && ::getegid() == gid ? 0 : 12);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

}  // namespace

TEST_SUITE("native::child") {
  TEST_CASE("the verdict file is read with the gate's credentials, never init's") {
    if (::geteuid() != 0) return;  // changing to another uid needs root
    Scratch s;
    ::chmod(s.tmp.path().c_str(), 0755);  // searchable by the gate's uid
    const std::string json = R"({"verdict": "pass"})";
    const fs::path open_file = s.file("verdict.json");
    std::ofstream(open_file) << json;
    ::chmod(open_file.c_str(), 0644);
    // What a gate running as nobody could point the file at: a root-only file (say, a
    // hard link to /etc/shadow in its image) that init, as root, could read.
    const fs::path root_only = s.file("root-only.json");
    std::ofstream(root_only) << json;
    ::chmod(root_only.c_str(), 0600);
    fs::create_symlink(open_file, s.file("link.json"));

    CHECK(read_in_child(open_file, 65534, 65534, json) == 0);
    CHECK(read_in_child(root_only, 65534, 65534) == 11);
    CHECK(read_in_child(root_only, 0, 0, json) == 0);  // a uid-0 gate could read it itself
    CHECK(read_in_child(s.file("link.json"), 65534, 65534) == 11);
    CHECK(read_in_child(s.file("missing.json"), 65534, 65534) == 10);
    CHECK(read_in_child(s.dest, 65534, 65534) == 11);  // a directory

    const fs::path big = s.file("big.json");
    std::ofstream(big) << std::string(kVerdictMax + 1, ' ');
    ::chmod(big.c_str(), 0644);
    CHECK(read_in_child(big, 65534, 65534) == 11);
  }
}
