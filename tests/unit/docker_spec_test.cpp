#include <doctest/doctest.h>

#include "policy/seccomp.hpp"
#include "stack/docker/container_spec.hpp"
#include "stack/docker/docker_run.hpp"
#include "stack/exit_status.hpp"

using namespace gatebox;

namespace {

struct SpecFixture {
  Profile profile;
  SeccompPolicy seccomp;
  std::vector<ResolvedMount> mounts;

  SpecFixture() {
    profile.name = "unit-gate";
    profile.run.argv = {"/bin/sh", "-c", "make test"};
    profile.run.env = {{"PATH", "/usr/bin:/bin"}, {"LANG", "C.UTF-8"}};
    profile.run.cwd = "/src";
    profile.run.uid = 1000;
    profile.run.gid = 1001;
    profile.run.hostname = "gate-host";
    profile.limits.memory = 256ULL << 20;
    profile.limits.pids = 64;
    profile.limits.cpus = 1.5;
    profile.limits.disk = 32ULL << 20;
    profile.limits.open_files = 512;
    seccomp = resolve_seccomp(profile.seccomp);
    mounts = {ResolvedMount{"/home/me/src", "/src", true, true}, ResolvedMount{"/home/me/out", "/out", false, true}};
  }
  nlohmann::json render() {
    return render_container_create(ContainerSpecInput{profile, seccomp, mounts, "gatebox/rootfs:0123456789abcdef",
                                                      "4242-deadbeef", "hostA"});
  }
};

bool has(const nlohmann::json& array, const std::string& value) {
  for (const auto& v : array) {
    if (v == value) return true;
  }
  return false;
}

}  // namespace

TEST_SUITE("docker::spec") {
  TEST_CASE("the gate's command, identity and environment") {
    SpecFixture f;
    nlohmann::json j = f.render();
    CHECK(j["Image"] == "gatebox/rootfs:0123456789abcdef");
    CHECK(j["Cmd"] == nlohmann::json({"/bin/sh", "-c", "make test"}));
    CHECK(j["User"] == "1000:1001");
    CHECK(j["WorkingDir"] == "/src");
    CHECK(j["Hostname"] == "gate-host");
    CHECK(j["Env"] == nlohmann::json({"LANG=C.UTF-8", "PATH=/usr/bin:/bin"}));
    CHECK(j["Tty"] == false);
    CHECK(j["AttachStdout"] == true);
    CHECK(j["AttachStderr"] == true);
    CHECK(j["Labels"]["gatebox.run"] == "4242-deadbeef");
    CHECK(j["Labels"]["gatebox.gate"] == "unit-gate");
    CHECK(j["Labels"]["gatebox.host"] == "hostA");
    CHECK(container_name("4242-deadbeef") == "gatebox-4242-deadbeef");
  }

  TEST_CASE("isolation: no network, no capabilities, no new privileges, seccomp, nothing privileged") {
    SpecFixture f;
    const nlohmann::json h = f.render()["HostConfig"];
    CHECK(h["NetworkMode"] == "none");
    CHECK(h["CapDrop"] == nlohmann::json({"ALL"}));
    CHECK(h["Privileged"] == false);
    CHECK(h["Devices"].empty());
    CHECK(has(h["SecurityOpt"], "no-new-privileges"));
    std::string seccomp;
    for (const auto& opt : h["SecurityOpt"]) {
      if (opt.get<std::string>().rfind("seccomp=", 0) == 0) seccomp = opt.get<std::string>().substr(8);
    }
    REQUIRE_FALSE(seccomp.empty());
    nlohmann::json profile = nlohmann::json::parse(seccomp);
    CHECK(profile["defaultAction"] == "SCMP_ACT_ERRNO");
    CHECK_FALSE(h.contains("Runtime"));
  }

  TEST_CASE("loopback mode is the same none network (Docker's none keeps an isolated lo)") {
    SpecFixture f;
    f.profile.network.mode = NetworkMode::loopback;
    CHECK(f.render()["HostConfig"]["NetworkMode"] == "none");
  }

  TEST_CASE("seccomp unconfined is Docker's seccomp=unconfined") {
    SpecFixture f;
    f.profile.seccomp.profile = "unconfined";
    f.seccomp = resolve_seccomp(f.profile.seccomp);
    CHECK(has(f.render()["HostConfig"]["SecurityOpt"], "seccomp=unconfined"));
  }

  TEST_CASE("limits: memory without swap, pids, cpus, open files, a sized /tmp") {
    SpecFixture f;
    const nlohmann::json h = f.render()["HostConfig"];
    CHECK(h["Memory"] == 256LL << 20);
    CHECK(h["MemorySwap"] == 256LL << 20);
    CHECK(h["PidsLimit"] == 64);
    CHECK(h["NanoCpus"] == 1'500'000'000LL);
    CHECK(h["Ulimits"] == nlohmann::json::parse(R"([{"Name":"nofile","Soft":512,"Hard":512}])"));
    CHECK(h["CgroupnsMode"] == "private");
    CHECK(h["Tmpfs"]["/tmp"] == "rw,exec,nosuid,nodev,size=33554432,nr_inodes=8192,mode=1777");
  }

  TEST_CASE("mounts become Binds, read-only unless the profile says otherwise") {
    SpecFixture f;
    CHECK(f.render()["HostConfig"]["Binds"] == nlohmann::json({"/home/me/src:/src:ro", "/home/me/out:/out:rw"}));
    f.mounts.push_back(ResolvedMount{"/home/me/a:b", "/c", true, true});
    CHECK_THROWS_AS(f.render(), Error);
  }

  TEST_CASE("stack.docker.runtime selects the runtime") {
    SpecFixture f;
    f.profile.stack.docker.runtime = "runsc";
    CHECK(f.render()["HostConfig"]["Runtime"] == "runsc");
  }

  TEST_CASE("Docker's exit codes above 128 are deaths by signal") {
    RunOutcome a;
    apply_exit_status(a, 3);
    CHECK(a.exit_code == 3);
    CHECK_FALSE(a.signal);
    RunOutcome b;
    apply_exit_status(b, 128 + 31);
    CHECK(b.signal == 31);
    CHECK_FALSE(b.exit_code);
    RunOutcome c;
    apply_exit_status(c, 127);
    CHECK(c.exit_code == 127);
  }
}
