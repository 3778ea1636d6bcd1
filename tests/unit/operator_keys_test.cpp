// The operator's choices (issues 16 and 23): a profile never picks a program, kernel,
// endpoint, runtime, cluster, context or credential unless the site policy allow-lists the
// exact value; `validate` and `run --dry-run` run nothing, not even the operator's tools.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "cli/cli.hpp"
#include "policy/operator_keys.hpp"
#include "profile/loader.hpp"
#include "rootfs_test_util.hpp"
#include "stack/stack.hpp"
#include "stack/vm/kernel.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/sha256.hpp"

using namespace gatebox;
namespace fs = std::filesystem;

namespace {

struct Scratch {
  TempDir tmp{fs::temp_directory_path(), "gatebox-operator-"};
  fs::path write(const std::string& name, const std::string& text, mode_t mode = 0644) const {
    const fs::path p = tmp.path() / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    ::chmod(p.c_str(), mode);
    return p;
  }
  fs::path path(const std::string& name) const { return tmp.path() / name; }
};

// Six lines: a section appended starts on line 7.
const std::string kMinimal =
    "name = \"t\"\n"
    "[rootfs]\n"
    "image = \"img.tar\"\n"
    "[run]\n"
    "argv = [\"/bin/true\"]\n"
    "user = \"1000:1000\"\n";

// Sets an environment variable for one test and puts the old value back.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_, old_->c_str(), 1);
    else ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// Keeps the plans `run --dry-run` prints out of the test's own output.
class QuietStdout {
 public:
  QuietStdout() : saved_(::dup(STDOUT_FILENO)) {
    std::fflush(stdout);
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    ::dup2(null, STDOUT_FILENO);
    ::close(null);
  }
  ~QuietStdout() {
    std::fflush(stdout);
    ::dup2(saved_, STDOUT_FILENO);
    ::close(saved_);
  }

 private:
  int saved_;
};

// The message of the Error `f` throws, with its exit code checked (65 unless told).
template <class F>
std::string refusal(F f, ExitCode code = ExitCode::bad_input) {
  const Error e = test::expect_error(f);
  CHECK(e.code() == code);
  return e.what();
}

bool has(const std::string& text, const std::string& part) {
  INFO(text);
  return text.find(part) != std::string::npos;
}

Profile load_checked(const fs::path& file, const SitePolicy& policy, const Overrides& o = {}) {
  Profile p = load_profile(file, o);
  enforce_operator_keys(policy, p);
  return p;
}

// A stand-in for runsc/qemu/firecracker that leaves a mark when anything runs it.
fs::path planted_program(const Scratch& s, const std::string& name) {
  const fs::path marker = s.path(name + ".ran");
  return s.write(name, "#!/bin/sh\necho ran >> '" + marker.string() + "'\necho 'runsc version 0.0'\n", 0755);
}

}  // namespace

TEST_SUITE("policy::operator_keys") {
  TEST_CASE("every operator-only key a profile names is refused with exit 65 at its file:line:col") {
    struct Case {
      std::string section;
      std::string policy_hint;
    };
    const std::vector<Case> cases = {
        {"[stack.docker]\nhost = \"tcp://10.0.0.9:2375\"\n", "[stacks.docker] hosts"},
        {"[stack.docker]\nruntime = \"runc\"\n", "[stacks.docker] runtimes"},
        {"[stack.gvisor]\nrunsc = \"./runsc\"\n", "[stacks.gvisor] runsc"},
        {"[stack.qemu]\nbinary = \"/tmp/qemu\"\n", "[stacks.qemu] binaries"},
        {"[stack.qemu]\nkernel = \"vmlinux\"\n", "[stacks.qemu] kernels"},
        {"[stack.firecracker]\nbinary = \"fc\"\n", "[stacks.firecracker] binaries"},
        {"[stack.firecracker]\nkernel = \"/boot/vmlinux\"\n", "[stacks.firecracker] kernels"},
        {"[stack.kubernetes]\nkubeconfig = \"kube/config\"\n", "[stacks.kubernetes] kubeconfigs"},
        {"[stack.kubernetes]\ncontext = \"prod-admin\"\n", "[stacks.kubernetes] contexts"},
        {"[stack.kubernetes]\nregistry = \"evil.example.com/x\"\n", "[stacks.kubernetes] registries"},
        {"[stack.kubernetes]\nruntime_class = \"runc\"\n", "[stacks.kubernetes] runtime_classes"},
    };
    for (const Case& c : cases) {
      Scratch s;
      const fs::path file = s.write("gate.toml", kMinimal + c.section);
      const std::string msg = refusal([&] { load_checked(file, SitePolicy{}); });
      CHECK(has(msg, file.string() + ":8:"));
      CHECK(has(msg, "the operator's choice, not a profile's"));
      CHECK(has(msg, "--set stack."));
      CHECK(has(msg, c.policy_hint));
    }
    Scratch s;
    const fs::path file = s.write("gate.toml", kMinimal + "[stack.gvisor]\nrunsc = \"bin/runsc\"\n");
    const std::string msg = refusal([&] { load_checked(file, SitePolicy{}); });
    CHECK(has(msg, (s.path("bin/runsc")).string()));  // the value as it would have been used
    CHECK(has(msg, "a program gatebox runs as root"));
  }

  TEST_CASE("a profile may spell gatebox's own defaults") {
    Scratch s;
    const fs::path file = s.write("gate.toml", kMinimal +
                                                   "[stack.gvisor]\nrunsc = \"runsc\"\n"
                                                   "[stack.qemu]\nbinary = \"qemu-system-x86_64\"\nkernel = \"\"\n"
                                                   "[stack.docker]\nhost = \"\"\nruntime = \"\"\n");
    CHECK_NOTHROW(load_checked(file, SitePolicy{}));
  }

  TEST_CASE("a value from --set is the operator's; its relative path is relative to the current directory") {
    Scratch s;
    const fs::path file = s.write("gates/gate.toml", kMinimal + "[stack.gvisor]\nrunsc = \"/tmp/evil\"\n");
    Overrides o;
    o.set = {"stack.gvisor.runsc=\"bin/runsc\"", "stack.docker.host=\"unix:///run/d.sock\"",
             "stack.kubernetes.context=\"ci\""};
    const Profile p = load_checked(file, SitePolicy{}, o);
    CHECK(p.stack.gvisor.runsc == (fs::current_path() / "bin/runsc").string());
    CHECK(p.stack.docker.host == "unix:///run/d.sock");
    CHECK(p.stack.kubernetes.context == "ci");
    // A --set of another key in the same table leaves the file's own value the file's.
    Overrides other;
    other.set = {"stack.gvisor.platform=\"ptrace\""};
    CHECK(has(refusal([&] { load_checked(file, SitePolicy{}, other); }), file.string() + ":8:"));
  }

  TEST_CASE("the site policy allow-lists exact values; anything else is refused naming the list") {
    Scratch s;
    const fs::path policy_file = s.write("policy.toml",
                                         "[stacks.gvisor]\n"
                                         "runsc = [\"/opt/gvisor/runsc\", \"runsc-nightly\"]\n"
                                         "[stacks.docker]\n"
                                         "hosts = [\"unix:///run/gates-docker.sock\"]\n"
                                         "runtimes = [\"runsc\"]\n"
                                         "[stacks.qemu]\n"
                                         "binaries = [\"/usr/bin/qemu-system-x86_64\"]\n"
                                         "[stacks.kubernetes]\n"
                                         "kubeconfigs = [\"/etc/gatebox/kube/ci.yaml\"]\n"
                                         "contexts = [\"gates@ci\"]\n"
                                         "registries = [\"registry.example.com/gates\"]\n"
                                         "runtime_classes = [\"gvisor\"]\n");
    const SitePolicy policy = load_site_policy_file(policy_file);
    const fs::path ok = s.write("ok.toml", kMinimal +
                                               "[stack.gvisor]\nrunsc = \"/opt/gvisor/runsc\"\n"
                                               "[stack.docker]\nhost = \"unix:///run/gates-docker.sock\"\nruntime = \"runsc\"\n"
                                               "[stack.qemu]\nbinary = \"/usr/bin/qemu-system-x86_64\"\n"
                                               "[stack.kubernetes]\nkubeconfig = \"/etc/gatebox/kube/ci.yaml\"\n"
                                               "context = \"gates@ci\"\nregistry = \"registry.example.com/gates\"\n"
                                               "runtime_class = \"gvisor\"\n");
    const Profile p = load_checked(ok, policy);
    CHECK(p.stack.gvisor.runsc == "/opt/gvisor/runsc");
    CHECK(p.stack.docker.runtime == "runsc");
    CHECK(p.stack.kubernetes.context == "gates@ci");
    CHECK_NOTHROW(load_checked(s.write("name.toml", kMinimal + "[stack.gvisor]\nrunsc = \"runsc-nightly\"\n"), policy));

    const fs::path bad = s.write("bad.toml", kMinimal + "[stack.docker]\nruntime = \"runc\"\n");
    std::string msg = refusal([&] { load_checked(bad, policy); });
    CHECK(has(msg, bad.string() + ":8:"));
    CHECK(has(msg, "the list at " + policy_file.string() + ":5:"));
    CHECK(has(msg, "has: runsc"));
    // A relative path of the profile is its folder's, never the allow-listed absolute path.
    msg = refusal([&] { load_checked(s.write("opt/rel.toml", kMinimal + "[stack.gvisor]\nrunsc = \"gvisor/runsc\"\n"), policy); });
    CHECK(has(msg, "/opt/gvisor/runsc"));
    // No list for a key: still refused (a policy's other lists allow nothing here).
    CHECK_THROWS_AS(load_checked(s.write("fc.toml", kMinimal + "[stack.firecracker]\nbinary = \"/usr/bin/fc\"\n"), policy), Error);
  }

  TEST_CASE("an allow-listed kernel is pinned by sha256, and a changed file is refused before it boots") {
    Scratch s;
    const fs::path kernel = s.write("kernels/vmlinux", "not really a kernel\n");
    const std::string digest = sha256_file(kernel);
    const fs::path policy_file =
        s.write("policy.toml", "[stacks.qemu]\nkernels = [{ path = \"" + kernel.string() + "\", sha256 = \"" + digest + "\" }]\n");
    const SitePolicy policy = load_site_policy_file(policy_file);
    const Profile p = load_checked(s.write("gate.toml", kMinimal + "[stack.qemu]\nkernel = \"kernels/vmlinux\"\n"), policy);
    CHECK(p.stack.qemu.kernel == kernel.string());
    CHECK(p.stack.qemu.kernel_sha256 == digest);
    // The same path for firecracker is not on firecracker's list.
    CHECK_THROWS_AS(load_checked(s.write("fc.toml", kMinimal + "[stack.firecracker]\nkernel = \"kernels/vmlinux\"\n"), policy), Error);

    const fs::path cache = s.path("cache");
    CHECK_NOTHROW(vm::check_kernel_pin(kernel, digest, cache));
    s.write("kernels/vmlinux", "a kernel that sees the frame secret\n");
    const std::string msg = refusal([&] { vm::check_kernel_pin(kernel, digest, cache); });
    CHECK(has(msg, "pins it to"));
  }

  TEST_CASE("a malformed allow-list is refused with file:line:col") {
    Scratch s;
    auto msg_of = [&](const std::string& text) {
      const fs::path f = s.write("policy.toml", text);
      return refusal([&] { load_site_policy_file(f); });
    };
    CHECK(has(msg_of("[stacks.gvisor]\nrunsc = [\"bin/runsc\"]\n"), "policy.toml:2:"));
    CHECK(has(msg_of("[stacks.gvisor]\nbinaries = [\"/x\"]\n"), "it has: runsc"));
    CHECK(has(msg_of("[stacks.qemu]\nkernels = [{ path = \"/k\", sha256 = \"abc\" }]\n"), "not a sha256 digest"));
    CHECK(has(msg_of("[stacks.qemu]\nkernels = [{ path = \"/k\" }]\n"), "sha256"));
    CHECK(has(msg_of("[stacks.qemu]\nkernels = [\"/k\"]\n"), "policy.toml:2:"));
    CHECK(has(msg_of("[rootfs]\nsources = [\"rel\"]\n"), "not an absolute host path"));
  }

  TEST_CASE("rootfs: checked against the policy's sources by real path; rootfs.dir refused without a list") {
    Scratch s;
    fs::create_directories(s.path("trees/busybox"));
    fs::create_directories(s.path("outside"));
    s.write("images/img.tar", "");
    fs::create_symlink(s.path("outside"), s.path("trees/escape"));
    const std::string dir_profile = "name = \"t\"\n[rootfs]\ndir = \"trees/busybox\"\n[run]\nargv = [\"/bin/true\"]\n";

    // No policy at all: nothing to check, as before.
    CHECK_NOTHROW(load_checked(s.write("a.toml", dir_profile), SitePolicy{}));

    // A policy without source lists: rootfs.dir ("/" with user 0:0 read /etc/shadow) is refused, an image is not.
    const SitePolicy bare = load_site_policy_file(s.write("bare.toml", "[limits]\npids = 100\n"));
    std::string msg = refusal([&] { load_checked(s.write("b.toml", dir_profile), bare); });
    CHECK(has(msg, "rootfs.dir"));
    CHECK(has(msg, "rootfs.sources"));
    CHECK_NOTHROW(load_checked(s.write("images/c.toml", kMinimal), bare));

    // rootfs.sources: inside passes and is replaced by its real path; a symlink out is refused.
    const SitePolicy listed = load_site_policy_file(
        s.write("listed.toml", "[rootfs]\nsources = [\"" + s.path("trees").string() + "\"]\n"));
    const Profile p = load_checked(s.write("d.toml", dir_profile), listed);
    CHECK(p.rootfs.dir == fs::canonical(s.path("trees/busybox")));
    msg = refusal([&] {
      load_checked(s.write("e.toml", "name = \"t\"\n[rootfs]\ndir = \"trees/escape\"\n[run]\nargv = [\"/bin/true\"]\n"), listed);
    });
    CHECK(has(msg, "outside the directories the site allows"));
    CHECK(has(msg, "listed.toml:2:"));
    msg = refusal([&] { load_checked(s.write("images/f.toml", kMinimal), listed); });  // images/img.tar
    CHECK(has(msg, "rootfs.image"));
    CHECK(has(refusal([&] { load_checked(s.write("g.toml", "name = \"t\"\n[rootfs]\ndir = \"/\"\n[run]\nargv = [\"/bin/true\"]\n"), listed); }),
              "outside"));

    // Without rootfs.sources, mounts.sources stands for the host directories gates may read.
    const SitePolicy mounts = load_site_policy_file(
        s.write("mounts.toml", "[mounts]\nsources = [\"" + s.path("images").string() + "\"]\n"));
    CHECK_NOTHROW(load_checked(s.write("images/h.toml", kMinimal), mounts));
    CHECK_THROWS_AS(load_checked(s.write("i.toml", dir_profile), mounts), Error);
  }

  TEST_CASE("validate and run --dry-run run no program: neither a profile's nor the operator's") {
    Scratch s;
    const fs::path runsc = planted_program(s, "runsc");
    const fs::path qemu = planted_program(s, "qemu");
    const fs::path fc = planted_program(s, "firecracker");
    s.write("img.tar", "");
    const std::string planted = "[stack.gvisor]\nrunsc = \"" + runsc.string() + "\"\n[stack.qemu]\nbinary = \"" +
                                qemu.string() + "\"\n[stack.firecracker]\nbinary = \"" + fc.string() + "\"\n";
    auto ran = [&] {
      return fs::exists(s.path("runsc.ran")) || fs::exists(s.path("qemu.ran")) || fs::exists(s.path("firecracker.ran"));
    };

    // No policy: the profile's programs are refused, by validate and by run --dry-run.
    const fs::path hostile = s.write("hostile.toml", kMinimal + planted);
    const QuietStdout quiet;
    const ScopedEnv own_cache("GATEBOX_CACHE", s.path("cache").string());  // tool answers are cached there
    {
      ScopedEnv no_policy("GATEBOX_POLICY", "");
      CHECK(validate_command({hostile.string()}, false) == 65);
      RunOptions o;
      o.profile = hostile.string();
      o.cache_dir = s.path("cache").string();
      o.dry_run = true;
      for (const char* kind : {"gvisor", "qemu", "auto"}) {
        o.overrides.stack = kind;
        CHECK(refusal([&] { run_command(o); }).find("the operator's choice") != std::string::npos);
      }
    }
    CHECK_FALSE(ran());

    // Allow-listed by the policy, or named with --set: accepted, and still not run under --dry-run.
    const fs::path policy = s.write("policy.toml", "[stacks.gvisor]\nrunsc = [\"" + runsc.string() +
                                                       "\"]\n[stacks.qemu]\nbinaries = [\"" + qemu.string() +
                                                       "\"]\n[stacks.firecracker]\nbinaries = [\"" + fc.string() + "\"]\n");
    ScopedEnv with_policy("GATEBOX_POLICY", policy.string());
    CHECK(validate_command({hostile.string()}, false) == 0);
    RunOptions o;
    o.profile = hostile.string();
    o.cache_dir = s.path("cache").string();
    o.dry_run = true;
    for (const char* kind : {"gvisor", "qemu", "firecracker", "auto"}) {
      o.overrides.stack = kind;
      try {
        run_command(o);  // prints the plan; an unavailable stack or no fitting one is fine here
      } catch (const Error& e) {
        CHECK(e.code() == ExitCode::unavailable);
      }
    }
    const fs::path plain = s.write("plain.toml", kMinimal);
    o.profile = plain.string();
    o.overrides.set = {"stack.gvisor.runsc=\"" + runsc.string() + "\"", "stack.qemu.binary=\"" + qemu.string() + "\""};
    for (const char* kind : {"gvisor", "qemu", "auto"}) {
      o.overrides.stack = kind;
      try {
        run_command(o);
      } catch (const Error& e) {
        CHECK(e.code() == ExitCode::unavailable);
      }
    }
    CHECK_FALSE(ran());

    // The control: a probe that may run the stack's tools does run the planted runsc, so the
    // checks above would have seen it.
    Profile named;
    named.stack.gvisor.runsc = runsc.string();
    (void)make_stack("gvisor")->probe_for(named, ProbeMode::run_tools);
    CHECK(fs::exists(s.path("runsc.ran")));
  }
}
