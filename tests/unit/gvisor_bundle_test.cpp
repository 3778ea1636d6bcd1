// The gvisor stack's config.json: every field a gate's isolation depends on comes from the
// resolved profile, and nothing grants more than the profile asked for.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>

#include "policy/seccomp.hpp"
#include "stack/gvisor/oci_bundle.hpp"

using namespace gatebox;
using nlohmann::json;

namespace {

Profile sample_profile() {
  Profile p;
  p.name = "t";
  p.run.argv = {"/bin/sh", "-c", "make test"};
  p.run.cwd = "/src";
  p.run.env = {{"PATH", "/bin"}, {"LANG", "C"}};
  p.run.uid = 1000;
  p.run.gid = 1001;
  p.run.hostname = "gate-host";
  p.limits.memory = 256ULL << 20;
  p.limits.pids = 77;
  p.limits.cpus = 1.5;
  p.limits.disk = 32ULL << 20;
  p.limits.open_files = 321;
  return p;
}

const json* find_mount(const json& config, const std::string& target) {
  for (const json& m : config.at("mounts")) {
    if (m.at("destination") == target) return &m;
  }
  return nullptr;
}

bool has_option(const json& mount, const std::string& option) {
  const json& opts = mount.at("options");
  return std::find(opts.begin(), opts.end(), option) != opts.end();
}

}  // namespace

TEST_SUITE("stack::gvisor::bundle") {
  TEST_CASE("process: argv, env, cwd, user, no capabilities, no new privileges, open files") {
    Profile p = sample_profile();
    SeccompPolicy seccomp = resolve_seccomp(p.seccomp);
    std::vector<ResolvedMount> mounts;
    json c = render_oci_config({p, "/cache/rootfs/abc", seccomp, mounts, "123-beef", ""});
    const json& proc = c.at("process");
    CHECK(proc.at("args") == json::array({"/bin/sh", "-c", "make test"}));
    CHECK(proc.at("cwd") == "/src");
    CHECK(proc.at("env") == json::array({"LANG=C", "PATH=/bin"}));
    CHECK(proc.at("user").at("uid") == 1000);
    CHECK(proc.at("user").at("gid") == 1001);
    CHECK(proc.at("terminal") == false);
    CHECK(proc.at("noNewPrivileges") == true);
    for (const char* set : {"bounding", "effective", "inheritable", "permitted", "ambient"}) {
      CAPTURE(set);
      CHECK(proc.at("capabilities").at(set).empty());
    }
    REQUIRE(proc.at("rlimits").size() == 1);
    CHECK(proc.at("rlimits")[0].at("type") == "RLIMIT_NOFILE");
    CHECK(proc.at("rlimits")[0].at("hard") == 321);
    CHECK(proc.at("rlimits")[0].at("soft") == 321);
    CHECK(c.at("hostname") == "gate-host");
  }

  TEST_CASE("root is the cached tree: read-only without an overlay, the overlay's lower layer with one") {
    Profile p = sample_profile();
    SeccompPolicy seccomp = resolve_seccomp(p.seccomp);
    std::vector<ResolvedMount> mounts;
    json plain = render_oci_config({p, "/cache/rootfs/abc", seccomp, mounts, "1-a", "", false});
    CHECK(plain.at("root").at("path") == "/cache/rootfs/abc");
    CHECK(plain.at("root").at("readonly") == true);
    json overlaid = render_oci_config({p, "/cache/rootfs/abc", seccomp, mounts, "1-a", "", true});
    CHECK(overlaid.at("root").at("readonly") == false);
  }

  TEST_CASE("limits: memory without swap, pids, cpu bandwidth, a findable cgroup") {
    Profile p = sample_profile();
    SeccompPolicy seccomp = resolve_seccomp(p.seccomp);
    std::vector<ResolvedMount> mounts;
    json c = render_oci_config({p, "/r", seccomp, mounts, "42-cafe", ""});
    const json& res = c.at("linux").at("resources");
    CHECK(res.at("memory").at("limit") == 256ULL << 20);
    CHECK(res.at("memory").at("swap") == 256ULL << 20);
    CHECK(res.at("pids").at("limit") == 77 + 256);  // runsc's own tasks share the host cgroup
    CHECK(res.at("cpu").at("period") == 100000);
    CHECK(res.at("cpu").at("quota") == 150000);
    CHECK(c.at("linux").at("cgroupsPath") == "/gatebox/42-cafe");
    std::vector<std::string> ns;
    for (const json& n : c.at("linux").at("namespaces")) ns.push_back(n.at("type"));
    std::sort(ns.begin(), ns.end());
    CHECK(ns == std::vector<std::string>{"ipc", "mount", "network", "pid", "uts"});
  }

  TEST_CASE("mounts: system ones, a /tmp sized by limits.disk, the profile's binds ro and rw") {
    Profile p = sample_profile();
    SeccompPolicy seccomp = resolve_seccomp(p.seccomp);
    std::vector<ResolvedMount> mounts = {{"/home/me/src", "/src", true, true}, {"/home/me/out", "/out", false, true}};
    json c = render_oci_config({p, "/r", seccomp, mounts, "1-a", ""});
    REQUIRE(find_mount(c, "/proc") != nullptr);
    CHECK(find_mount(c, "/proc")->at("type") == "proc");
    CHECK(find_mount(c, "/dev")->at("type") == "tmpfs");
    CHECK(find_mount(c, "/dev/pts")->at("type") == "devpts");
    CHECK(find_mount(c, "/dev/shm")->at("type") == "tmpfs");
    const json* tmp = find_mount(c, "/tmp");
    REQUIRE(tmp != nullptr);
    CHECK(tmp->at("type") == "tmpfs");
    CHECK(has_option(*tmp, "size=33554432"));
    CHECK(has_option(*tmp, "mode=1777"));
    const json* src = find_mount(c, "/src");
    REQUIRE(src != nullptr);
    CHECK(src->at("type") == "bind");
    CHECK(src->at("source") == "/home/me/src");
    CHECK(has_option(*src, "rbind"));
    CHECK(has_option(*src, "ro"));
    CHECK_FALSE(has_option(*src, "rw"));
    const json* out = find_mount(c, "/out");
    REQUIRE(out != nullptr);
    CHECK(has_option(*out, "rw"));
    CHECK_FALSE(has_option(*out, "ro"));
    // The profile's binds come after /tmp, so a bind below /tmp is not hidden by it.
    CHECK(c.at("mounts").back().at("destination") == "/out");
    CHECK(find_mount(c, "/gatebox") == nullptr);
  }

  TEST_CASE("the verdict file's folder is bound from the host only when verdict.file is set") {
    Profile p = sample_profile();
    p.verdict.file = "/gatebox/verdict.json";
    SeccompPolicy seccomp = resolve_seccomp(p.seccomp);
    std::vector<ResolvedMount> mounts;
    json c = render_oci_config({p, "/r", seccomp, mounts, "1-a", "/cache/run/gvisor-1-a/verdict"});
    const json* v = find_mount(c, "/gatebox");
    REQUIRE(v != nullptr);
    CHECK(v->at("source") == "/cache/run/gvisor-1-a/verdict");
    CHECK(has_option(*v, "rw"));
  }

  TEST_CASE("masked and read-only paths as Docker's defaults; seccomp present unless unconfined") {
    Profile p = sample_profile();
    SeccompPolicy seccomp = resolve_seccomp(p.seccomp);
    std::vector<ResolvedMount> mounts;
    json c = render_oci_config({p, "/r", seccomp, mounts, "1-a", ""});
    const json& masked = c.at("linux").at("maskedPaths");
    CHECK(std::find(masked.begin(), masked.end(), "/proc/kcore") != masked.end());
    CHECK(std::find(masked.begin(), masked.end(), "/proc/keys") != masked.end());
    const json& ro = c.at("linux").at("readonlyPaths");
    CHECK(std::find(ro.begin(), ro.end(), "/proc/sys") != ro.end());
    CHECK(c.at("linux").at("seccomp").at("defaultAction") == "SCMP_ACT_ERRNO");

    p.seccomp.profile = "unconfined";
    SeccompPolicy open = resolve_seccomp(p.seccomp);
    json u = render_oci_config({p, "/r", open, mounts, "1-a", ""});
    CHECK_FALSE(u.at("linux").contains("seccomp"));
  }
}
