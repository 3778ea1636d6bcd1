// What gatebox reads from runsc's help, the platform `auto` picks, and the cgroup and log
// parsing the gvisor stack relies on to tell OOM kills and runsc failures apart.
#include <doctest/doctest.h>

#include "stack/gvisor/gvisor_cgroups.hpp"
#include "stack/gvisor/gvisor_supervisor.hpp"
#include "stack/gvisor/runsc_features.hpp"

using namespace gatebox;

namespace {

// Excerpts of `runsc flags` from Debian's 2022 build and from a newer one.
constexpr const char* kFlags2022 =
    "  -ignore-cgroups\n"
    "    \tdon't configure cgroups.\n"
    "  -network value\n"
    "    \tspecifies which network to use: sandbox (default), host, none.\n"
    "  -oci-seccomp\n"
    "    \tEnables loading OCI seccomp filters inside the sandbox.\n"
    "  -overlay\n"
    "    \tDEPRECATED: use --overlay2=all:memory to achieve the same effect\n"
    "  -overlay2 value\n"
    "    \twrap mounts with overlayfs. Format is {mount}:{medium}, where 'mount' can be 'root' or 'all'\n"
    "  -platform string\n"
    "    \tspecifies which platform to use: ptrace (default), kvm. (default \"ptrace\")\n"
    "  -rootless\n"
    "    \tit allows the sandbox to be started with a user that is not root.\n";

constexpr const char* kFlagsNewer =
    "  -platform string\n"
    "    \tspecifies which platform to use: systrap (default), ptrace, kvm. (default \"systrap\")\n"
    "  -overlay2 value\n"
    "    \twrap mounts with overlayfs.\n";

constexpr const char* kFlagsOld = "  -platform string\n    \tspecifies which platform to use: ptrace (default), kvm.\n";

}  // namespace

TEST_SUITE("stack::gvisor::features") {
  TEST_CASE("Debian's 2022 runsc: ptrace and kvm, overlay2, oci-seccomp") {
    RunscFeatures f = parse_runsc_flags(kFlags2022);
    CHECK(f.platforms == std::vector<std::string>{"ptrace", "kvm"});
    CHECK(f.oci_seccomp);
    CHECK(f.overlay2);
    CHECK(f.overlay);
    CHECK(f.ignore_cgroups);
    CHECK(f.rootless);
    CHECK_FALSE(f.has_platform("systrap"));
  }

  TEST_CASE("a newer runsc lists systrap; an older one has no --oci-seccomp") {
    RunscFeatures newer = parse_runsc_flags(kFlagsNewer);
    CHECK(newer.platforms == std::vector<std::string>{"systrap", "ptrace", "kvm"});
    CHECK_FALSE(newer.oci_seccomp);
    RunscFeatures old = parse_runsc_flags(kFlagsOld);
    CHECK_FALSE(old.oci_seccomp);
    CHECK_FALSE(old.overlay2);
    CHECK(parse_runsc_flags("garbage\n").platforms.empty());
  }

  TEST_CASE("version line") {
    CHECK(parse_runsc_version("runsc version 0.0~20221219.0\nspec: 1.0.2-dev\n") == "0.0~20221219.0");
    CHECK(parse_runsc_version("nothing") == "");
  }

  TEST_CASE("auto: kvm if usable, else systrap if present, else ptrace; explicit names stay") {
    RunscFeatures deb = parse_runsc_flags(kFlags2022), newer = parse_runsc_flags(kFlagsNewer);
    CHECK(choose_platform("auto", true, deb) == "kvm");
    CHECK(choose_platform("auto", false, deb) == "ptrace");
    CHECK(choose_platform("auto", false, newer) == "systrap");
    CHECK(choose_platform("auto", true, newer) == "kvm");
    CHECK(choose_platform("auto", true, parse_runsc_flags("  -platform string\n    \tuse: ptrace (default).\n")) == "ptrace");
    CHECK(choose_platform("ptrace", true, newer) == "ptrace");
    CHECK(choose_platform("systrap", false, deb) == "systrap");
  }

  TEST_CASE("cgroup mounts of a hybrid host") {
    const char* mountinfo =
        "30 24 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
        "31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw,nsdelegate\n"
        "36 30 0:32 / /sys/fs/cgroup/memory rw,nosuid shared:15 - cgroup cgroup rw,memory\n"
        "37 30 0:33 / /sys/fs/cgroup/cpu,cpuacct rw shared:16 - cgroup cgroup rw,cpu,cpuacct\n";
    auto mounts = parse_cgroup_mounts(mountinfo);
    REQUIRE(mounts.size() == 3);
    CHECK(mounts[0].dir == "/sys/fs/cgroup/unified");
    CHECK(mounts[0].v2);
    CHECK(mounts[1].dir == "/sys/fs/cgroup/memory");
    CHECK(mounts[1].memory);
    CHECK_FALSE(mounts[2].memory);
  }

  TEST_CASE("OOM kill counters of v1 and v2") {
    CHECK(parse_oom_kill_count("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n") == 2);
    CHECK(parse_oom_kill_count("low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\noom_group_kill 0\n") == 1);
    CHECK(parse_oom_kill_count("low 0\nhigh 0\n") == 0);
  }

  TEST_CASE("runsc's log: its last error, and a program that could not be loaded") {
    const std::string log =
        "{\"msg\":\"something harmless\",\"level\":\"warning\"}\n"
        "{\"msg\":\"running container: starting container: starting root container: starting sandbox: creating "
        "process: failed to load /nope: no such file or directory\",\"level\":\"error\"}\n";
    const std::string e = last_runsc_error(log);
    CHECK(e.find("failed to load /nope") != std::string::npos);
    CHECK(exec_failure_reason(e) == "no such file or directory");
    CHECK(exec_failure_reason("creating container: cgroup: permission denied") == "");
    CHECK(last_runsc_error("plain text line\n") == "plain text line");
    CHECK(last_runsc_error("") == "");
    CHECK(last_runsc_error("{\"msg\":\"first\",\"level\":\"error\"}{\"msg\":\"second\",\"level\":\"error\"}") ==
          "second");
  }
}
