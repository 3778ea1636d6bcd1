#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "policy/site_policy.hpp"
#include "route/route.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

using namespace gatebox;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

struct PolicyFile {
  TempDir dir{fs::temp_directory_path(), "gatebox-policy-"};
  fs::path write(const std::string& text) const {
    fs::path f = dir.path() / "policy.toml";
    std::ofstream(f) << text;
    return f;
  }
};

Profile gate(std::string kind = "auto") {
  Profile p;
  p.file = "gate.toml";
  p.stack.kind = std::move(kind);
  p.stack.kind_set = true;
  return p;
}

// The message of the Error `f` throws, with its exit code checked.
template <class F>
std::string refusal(F f, ExitCode code = ExitCode::bad_input) {
  try {
    f();
  } catch (const Error& e) {
    CHECK(e.code() == code);
    return e.what();
  }
  FAIL("no error");
  return "";
}

StackCandidate candidate(std::string name, Isolation iso, double start_ms,
                         std::map<std::string, std::string> features = {}) {
  StackCandidate c;
  c.name = std::move(name);
  c.availability.available = true;
  c.isolation = iso;
  c.cold_start_ms = start_ms;
  c.measured = true;
  c.features = std::move(features);
  return c;
}

std::vector<StackCandidate> host() {
  return {candidate("native", Isolation::kernel, 23, {{"ptrace", "denied (EPERM)"}, {"bpf", "denied (EPERM)"}}),
          candidate("docker", Isolation::kernel, 745, {{"ptrace", "works"}, {"bpf", "denied (EPERM)"}}),
          candidate("gvisor", Isolation::user_space_kernel, 383, {{"ptrace", "works"}, {"bpf", "absent (ENOSYS)"}}),
          candidate("qemu", Isolation::hardware, 1500, {{"ptrace", "works"}, {"bpf", "works"}})};
}

}  // namespace

TEST_SUITE("site_policy") {
  TEST_CASE("no policy file allows everything") {
    SitePolicy none;
    Profile p = gate("native");
    p.seccomp.profile = "unconfined";
    p.limits.memory = 1ULL << 40;
    CHECK_NOTHROW(enforce_site_policy(none, p, {}));
  }

  TEST_CASE("GATEBOX_POLICY names the file; an empty value means no policy") {
    PolicyFile f;
    fs::path file = f.write("[stacks]\ndefault = \"gvisor\"\n");
    ::setenv("GATEBOX_POLICY", file.c_str(), 1);
    SitePolicy p = load_site_policy();
    CHECK(p.file == file);
    REQUIRE(p.default_stack);
    CHECK(p.default_stack->value == "gvisor");
    ::setenv("GATEBOX_POLICY", "", 1);
    CHECK(load_site_policy().file.empty());
    ::unsetenv("GATEBOX_POLICY");
  }

  TEST_CASE("the default stack applies only to profiles that name none") {
    PolicyFile f;
    SitePolicy policy = load_site_policy_file(f.write("[stacks]\ndefault = \"gvisor\"\n"));
    Profile unnamed;
    apply_site_defaults(policy, unnamed);
    CHECK(unnamed.stack.kind == "gvisor");
    Profile named = gate("native");
    apply_site_defaults(policy, named);
    CHECK(named.stack.kind == "native");
  }

  TEST_CASE("a malformed policy is refused with file:line:col") {
    PolicyFile f;
    fs::path file = f.write("[stacks]\nallowed = [\"native\", \"qemoo\"]\n");
    std::string msg = refusal([&] { load_site_policy_file(file); });
    CHECK(msg.find(file.string() + ":2:") != std::string::npos);
    CHECK(msg.find("qemoo") != std::string::npos);
    msg = refusal([&] { load_site_policy_file(f.write("[limits]\nmemroy = \"1G\"\n")); });
    CHECK(msg.find("did you mean 'memory'") != std::string::npos);
    msg = refusal([&] { load_site_policy_file(f.write("[stacks]\ndefault = \"docker\"\nallowed = [\"native\"]\n")); });
    CHECK(msg.find("stacks.allowed does not list") != std::string::npos);
  }

  TEST_CASE("each rule refuses a profile that asks for more, naming the rule's file:line") {
    PolicyFile f;
    fs::path file = f.write(
        "version = 1\n"
        "[stacks]\n"
        "allowed = [\"native\", \"gvisor\", \"qemu\"]\n"
        "min_isolation = \"kernel\"\n"
        "[seccomp]\n"
        "allow_unconfined = false\n"
        "allow = [\"ptrace\"]\n"
        "[mounts]\n"
        "sources = [\"/usr/share\"]\n"
        "allow_rw = false\n"
        "[limits]\n"
        "memory = \"2GiB\"\n"
        "pids = 100\n"
        "timeout = \"10m\"\n"
        "cpus = 2\n");
    SitePolicy policy = load_site_policy_file(file);
    const std::vector<ResolvedMount> none;

    Profile ok = gate("native");
    ok.limits.memory = 1ULL << 30;
    ok.limits.pids = 100;
    ok.seccomp.allow = {"ptrace"};
    CHECK_NOTHROW(enforce_site_policy(policy, ok, {{"/usr/share/doc", "/doc", true, true}}));

    Profile docker = ok;
    docker.stack.kind = "docker";
    CHECK(refusal([&] { enforce_site_policy(policy, docker, none); }).find(file.string() + ":3:11") != std::string::npos);

    Profile unconfined = ok;
    unconfined.seccomp.profile = "unconfined";
    CHECK(refusal([&] { enforce_site_policy(policy, unconfined, none); }).find(":6:") != std::string::npos);

    Profile bpf = ok;
    bpf.seccomp.allow = {"ptrace", "bpf"};
    std::string msg = refusal([&] { enforce_site_policy(policy, bpf, none); });
    CHECK(msg.find("'bpf'") != std::string::npos);
    CHECK(msg.find(":7:") != std::string::npos);

    CHECK(refusal([&] { enforce_site_policy(policy, ok, {{"/etc", "/etc2", true, true}}); }).find(":9:") != std::string::npos);
    CHECK(refusal([&] { enforce_site_policy(policy, ok, {{"/usr/share/doc", "/doc", false, true}}); }).find(":10:") !=
          std::string::npos);
    // /usr/shared is not inside /usr/share: components are compared, not characters.
    CHECK_THROWS(enforce_site_policy(policy, ok, {{"/usr/shared", "/x", true, true}}));

    Profile big = ok;
    big.limits.memory = 4ULL << 30;
    msg = refusal([&] { enforce_site_policy(policy, big, none); });
    CHECK(msg.find("limits.memory = 4GiB is above the cap of 2GiB") != std::string::npos);
    CHECK(msg.find(file.string() + ":12:") != std::string::npos);
    Profile forks = ok;
    forks.limits.pids = 101;
    CHECK(refusal([&] { enforce_site_policy(policy, forks, none); }).find(":13:") != std::string::npos);
    Profile slow = ok;
    slow.limits.timeout = 11min;
    CHECK(refusal([&] { enforce_site_policy(policy, slow, none); }).find(":14:") != std::string::npos);
    Profile wide = ok;
    wide.limits.cpus = 2.5;
    CHECK(refusal([&] { enforce_site_policy(policy, wide, none); }).find(":15:") != std::string::npos);
  }

  TEST_CASE("[run] allow_root = false refuses a uid-0 gate, and only that") {
    PolicyFile f;
    fs::path file = f.write("version = 1\n[run]\nallow_root = false\n");
    SitePolicy policy = load_site_policy_file(file);
    Profile user = gate("native");
    user.run.uid = 65534;
    user.run.gid = 0;  // group 0 alone is not root
    CHECK_NOTHROW(enforce_site_policy(policy, user, {}));
    Profile root = user;
    root.run.uid = 0;
    const std::string msg = refusal([&] { enforce_site_policy(policy, root, {}); });
    CHECK(msg.find("run.user is uid 0") != std::string::npos);
    CHECK(msg.find(file.string() + ":3:") != std::string::npos);
    // Allowed explicitly, or not said: uid 0 runs.
    CHECK_NOTHROW(enforce_site_policy(load_site_policy_file(f.write("version = 1\n[run]\nallow_root = true\n")), root, {}));
    CHECK_NOTHROW(enforce_site_policy(load_site_policy_file(f.write("version = 1\n")), root, {}));
    CHECK_THROWS_AS(load_site_policy_file(f.write("version = 1\n[run]\nallow_roots = false\n")), Error);
  }

  TEST_CASE("a minimum isolation refuses a named stack below it") {
    PolicyFile f;
    SitePolicy policy = load_site_policy_file(f.write("[stacks]\nmin_isolation = \"hardware\"\n"));
    std::string msg = refusal([&] { enforce_site_policy(policy, gate("gvisor"), {}); });
    CHECK(msg.find("user-space-kernel isolation, weaker than the minimum hardware") != std::string::npos);
    CHECK_NOTHROW(enforce_site_policy(policy, gate("firecracker"), {}));
    CHECK_NOTHROW(enforce_site_policy(policy, gate("auto"), {}));  // routing filters those
    // qemu is hardware isolation with KVM only: under TCG its emulator is a user-space
    // program QEMU does not treat as a boundary.
    Profile kvm = gate("qemu");
    kvm.stack.qemu.accel = "kvm";
    CHECK_NOTHROW(enforce_site_policy(policy, kvm, {}));
    Profile tcg = gate("qemu");
    tcg.stack.qemu.accel = "tcg";
    CHECK(refusal([&] { enforce_site_policy(policy, tcg, {}); }).find("the qemu stack gives user-space-kernel isolation") !=
          std::string::npos);
  }
}

TEST_SUITE("route") {
  TEST_CASE("no requirements: the fastest available stack") {
    RouteDecision d = route(gate(), SitePolicy{}, host());
    CHECK(d.stack == "native");
    CHECK(d.why == "auto: kernel isolation, fastest start of 4 fitting");
    CHECK(d.rejected.size() == 3);
  }

  TEST_CASE("hardware isolation goes to the VM") {
    Profile p = gate();
    p.stack.isolation = "hardware";
    RouteDecision d = route(p, SitePolicy{}, host());
    CHECK(d.stack == "qemu");
    bool native_said = false;
    for (const auto& [name, why] : d.rejected) {
      if (name == "native") native_said = why.find("asks for at least hardware") != std::string::npos;
    }
    CHECK(native_said);
  }

  TEST_CASE("required features pick where the probe says they work") {
    Profile p = gate();
    p.stack.requires_features = {"ptrace"};
    p.stack.isolation = "kernel";
    CHECK(route(p, SitePolicy{}, host()).stack == "gvisor");  // works there, and starts before docker
    p.stack.requires_features = {"bpf"};
    CHECK(route(p, SitePolicy{}, host()).stack == "qemu");
    p.stack.requires_features = {"docker-build"};  // spelled as in profiles; nobody probed it
    std::string msg = refusal([&] { route(p, SitePolicy{}, host()); }, ExitCode::unavailable);
    CHECK(msg.find("native: under seccomp 'default', docker-build: not probed") != std::string::npos);
    CHECK(msg.find("qemu:") != std::string::npos);
  }

  TEST_CASE("a policy that forbids native moves the gate; unavailable stacks say why") {
    PolicyFile f;
    SitePolicy policy = load_site_policy_file(f.write("[stacks]\nallowed = [\"docker\", \"gvisor\", \"qemu\"]\n"));
    std::vector<StackCandidate> stacks = host();
    stacks[2].availability = {false, "runsc not found", {}};
    RouteDecision d = route(gate(), policy, stacks);
    CHECK(d.stack == "docker");
    std::map<std::string, std::string> why(d.rejected.begin(), d.rejected.end());
    CHECK(why["native"].find("not allowed by the site policy") != std::string::npos);
    CHECK(why["gvisor"] == "unavailable: runsc not found");
    CHECK(why["qemu"].find("starts slower") != std::string::npos);
  }

  TEST_CASE("the site's minimum isolation applies to auto as well") {
    PolicyFile f;
    SitePolicy policy = load_site_policy_file(f.write("[stacks]\nmin_isolation = \"user-space-kernel\"\n"));
    CHECK(route(gate(), policy, host()).stack == "gvisor");
  }
}
