#include <doctest/doctest.h>
#include <grp.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>

#include "profile/loader.hpp"
#include "util/error.hpp"

using namespace gatebox;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// A fresh folder per test, removed afterwards.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "gatebox-profile-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path write(const std::string& name, const std::string& text) const {
    fs::path file = path / name;
    fs::create_directories(file.parent_path());
    std::ofstream(file) << text;
    return file;
  }
};

// Five lines, so that a section appended to it starts on line 6.
const std::string minimal =
    "name = \"t\"\n"
    "[rootfs]\n"
    "image = \"img.tar\"\n"
    "[run]\n"
    "argv = [\"/bin/true\"]\n";

struct Failure {
  int code = 0;
  std::string message;
};

Failure failure_of(const fs::path& file, const Overrides& overrides = {}) {
  try {
    load_profile(file, overrides);
  } catch (const Error& e) {
    return {static_cast<int>(e.code()), e.what()};
  }
  return {};
}

// Loads `minimal` plus `extra` and expects exit 65 with `part` in the message.
void check_rejected(const std::string& extra, const std::string& part, bool top_level = false) {
  TempDir dir;
  fs::path file = dir.write("p.toml", top_level ? extra + minimal : minimal + extra);
  Failure f = failure_of(file);
  CAPTURE(extra);
  CHECK(f.code == 65);
  CHECK(f.message.rfind(file.string() + ":", 0) == 0);
  CHECK_MESSAGE(f.message.find(part) != std::string::npos, f.message);
}

Overrides with_set(std::string s) {
  Overrides o;
  o.set.push_back(std::move(s));
  return o;
}

}  // namespace

TEST_SUITE("profile") {
  TEST_CASE("a minimal profile gets the documented defaults") {
    TempDir dir;
    fs::path file = dir.write("p.toml", minimal);
    Profile p = load_profile(file);
    CHECK(p.file == file);
    CHECK(p.base_dir == dir.path);
    CHECK(p.name == "t");
    CHECK(p.rootfs.image == dir.path / "img.tar");
    CHECK(p.rootfs.dir.empty());
    CHECK(p.rootfs.max_bytes == 8ULL << 30);
    CHECK(p.stack.kind == "native");
    CHECK(p.stack.isolation == "any");
    CHECK(p.stack.gvisor.runsc == "runsc");
    CHECK(p.stack.qemu.binary == "qemu-system-x86_64");
    CHECK(p.stack.kubernetes.kubeconfig.empty());
    CHECK(p.stack.kubernetes.namespace_name.empty());
    CHECK(p.stack.kubernetes.registry.empty());
    CHECK(p.stack.kubernetes.seccomp == "RuntimeDefault");
    CHECK(p.stack.kubernetes.seccomp_profile.empty());
    CHECK(p.run.argv == std::vector<std::string>{"/bin/true"});
    CHECK(p.run.cwd == "/");
    CHECK(p.run.env.at("PATH") == "/usr/local/bin:/usr/bin:/bin");
    CHECK(p.run.uid == 65534);
    CHECK(p.run.gid == 65534);
    CHECK(p.run.hostname == "gatebox");
    CHECK(p.limits.timeout == 5min);
    CHECK(p.limits.memory == 1ULL << 30);
    CHECK(p.limits.pids == 512);
    CHECK(p.limits.cpus == 1.0);
    CHECK(p.limits.output == 16ULL << 20);
    CHECK(p.network.mode == NetworkMode::none);
    CHECK(p.seccomp.profile == "default");
    CHECK(p.seccomp.action == SeccompAction::errno_eperm);
    CHECK(p.mounts.empty());
    CHECK(p.verdict.pass == std::vector<int>{0});
    CHECK(p.verdict.error == std::vector<int>{125, 126, 127});
    CHECK(p.verdict.on_timeout == VerdictKind::fail);
    CHECK(p.verdict.file.empty());
  }

  TEST_CASE("every key of the schema is read") {
    TempDir dir;
    fs::path file = dir.write("gates/p.toml", R"(version = 1
name = "unit-tests"
description = "run the tests"
[stack]
kind = "auto"
requires = ["ptrace", "bpf"]
isolation = "user-space-kernel"
[stack.docker]
host = "tcp://10.0.0.1:2376"
runtime = "runsc"
[stack.gvisor]
runsc = "bin/runsc"
platform = "ptrace"
[stack.qemu]
binary = "qemu-system-x86_64"
kernel = "../vmlinuz"
accel = "tcg"
[stack.firecracker]
binary = "/usr/bin/firecracker"
kernel = "/boot/vmlinux"
[stack.kubernetes]
kubeconfig = "kube/config"
context = "ci-cluster"
namespace = "gates"
runtime_class = "kata-fc"
registry = "http://127.0.0.1:5000/gatebox/rootfs"
image_pull_secret = "ci.registry-pull"
seccomp = "Localhost"
seccomp_profile = "profiles/gate.json"
[rootfs]
dir = "../tree/"
max_bytes = "2GiB"
max_entries = 1000
[run]
argv = ["/bin/sh", "-c", "make test"]
cwd = "/src//sub/./dir/"
env = { CI = "1" }
user = "1000:100"
hostname = "gate-1.local"
[limits]
timeout = "90s"
memory = 268435456
pids = 64
cpus = 2
disk = "512MiB"
output = "1KiB"
open_files = 256
[network]
mode = "loopback"
[seccomp]
profile = "strict"
allow = ["ptrace"]
deny = ["mount", "io_uring_setup"]
action = "kill"
[[mount]]
source = "."
target = "/src"
[[mount]]
source = "/var/cache"
target = "/cache/"
readonly = false
[verdict]
pass = [0, 3]
error = [2]
on_timeout = "error"
on_signal = "pass"
on_oom = "error"
file = "/gatebox/verdict.json"
)");
    Profile p = load_profile(file);
    fs::path gates = dir.path / "gates";
    CHECK(p.description == "run the tests");
    CHECK(p.stack.kind == "auto");
    CHECK(p.stack.requires_features == std::vector<std::string>{"ptrace", "bpf"});
    CHECK(p.stack.isolation == "user-space-kernel");
    CHECK(p.stack.docker.host == "tcp://10.0.0.1:2376");
    CHECK(p.stack.docker.runtime == "runsc");
    CHECK(p.stack.gvisor.runsc == (gates / "bin/runsc").string());  // a path, so relative to the profile
    CHECK(p.stack.gvisor.platform == "ptrace");
    CHECK(p.stack.qemu.binary == "qemu-system-x86_64");              // a name, looked up in PATH later
    CHECK(p.stack.qemu.kernel == (dir.path / "vmlinuz").string());
    CHECK(p.stack.qemu.accel == "tcg");
    CHECK(p.stack.firecracker.kernel == "/boot/vmlinux");
    CHECK(p.stack.kubernetes.kubeconfig == (gates / "kube/config").string());  // a host path, relative to the profile
    CHECK(p.stack.kubernetes.context == "ci-cluster");
    CHECK(p.stack.kubernetes.namespace_name == "gates");
    CHECK(p.stack.kubernetes.runtime_class == "kata-fc");
    CHECK(p.stack.kubernetes.registry == "http://127.0.0.1:5000/gatebox/rootfs");
    CHECK(p.stack.kubernetes.image_pull_secret == "ci.registry-pull");
    CHECK(p.stack.kubernetes.seccomp == "Localhost");
    CHECK(p.stack.kubernetes.seccomp_profile == "profiles/gate.json");
    CHECK(p.rootfs.image.empty());
    CHECK(p.rootfs.dir == dir.path / "tree");
    CHECK(p.rootfs.max_bytes == 2ULL << 30);
    CHECK(p.rootfs.max_entries == 1000);
    CHECK(p.run.argv.size() == 3);
    CHECK(p.run.cwd == "/src/sub/dir");
    CHECK(p.run.env.at("CI") == "1");
    CHECK(p.run.env.count("PATH") == 1);  // the default PATH stays unless the profile sets one
    CHECK(p.run.uid == 1000);
    CHECK(p.run.gid == 100);
    CHECK(p.run.hostname == "gate-1.local");
    CHECK(p.limits.timeout == 90s);
    CHECK(p.limits.memory == 256ULL << 20);
    CHECK(p.limits.pids == 64);
    CHECK(p.limits.cpus == 2.0);
    CHECK(p.limits.disk == 512ULL << 20);
    CHECK(p.limits.output == 1024);
    CHECK(p.limits.open_files == 256);
    CHECK(p.network.mode == NetworkMode::loopback);
    CHECK(p.seccomp.profile == "strict");
    CHECK(p.seccomp.allow == std::vector<std::string>{"ptrace"});
    CHECK(p.seccomp.deny == std::vector<std::string>{"mount", "io_uring_setup"});
    CHECK(p.seccomp.action == SeccompAction::kill);
    REQUIRE(p.mounts.size() == 2);
    CHECK(p.mounts[0].source == gates);
    CHECK(p.mounts[0].target == "/src");
    CHECK(p.mounts[0].readonly);
    CHECK(p.mounts[1].source == "/var/cache");
    CHECK(p.mounts[1].target == "/cache");
    CHECK_FALSE(p.mounts[1].readonly);
    CHECK(p.verdict.pass == std::vector<int>{0, 3});
    CHECK(p.verdict.error == std::vector<int>{2});
    CHECK(p.verdict.on_timeout == VerdictKind::error);
    CHECK(p.verdict.on_signal == VerdictKind::pass);
    CHECK(p.verdict.on_oom == VerdictKind::error);
    CHECK(p.verdict.file == "/gatebox/verdict.json");
  }

  TEST_CASE("a profile given by a relative path still resolves host paths absolutely") {
    TempDir dir;
    fs::path file = dir.write("sub/p.toml", minimal + "[[mount]]\nsource = \"../data\"\ntarget = \"/data\"\n");
    fs::path relative = fs::relative(file, fs::current_path());
    REQUIRE(relative.is_relative());
    Profile p = load_profile(relative);
    CHECK(p.file == relative);
    CHECK(p.base_dir == dir.path / "sub");
    CHECK(p.rootfs.image == dir.path / "sub/img.tar");
    CHECK(p.mounts.at(0).source == dir.path / "data");
  }

  TEST_CASE("sizes and durations may be bare integers of bytes and seconds") {
    TempDir dir;
    Profile p = load_profile(dir.write("p.toml", minimal + "[limits]\ntimeout = 30\nmemory = 8388608\ncpus = 0.5\n"));
    CHECK(p.limits.timeout == 30s);
    CHECK(p.limits.memory == 8ULL << 20);
    CHECK(p.limits.cpus == 0.5);
  }

  TEST_CASE("TOML syntax errors name file, line and column") {
    TempDir dir;
    fs::path file = dir.write("p.toml", "name = \"t\"\n[run]\nargv = [\"/bin/true\"\n");
    Failure f = failure_of(file);
    CHECK(f.code == 65);
    CHECK_MESSAGE(f.message.rfind(file.string() + ":3:", 0) == 0, f.message);
    CHECK(f.message.find("array") != std::string::npos);
  }

  TEST_CASE("a missing file or a directory is bad input naming the path") {
    TempDir dir;
    Failure missing = failure_of(dir.path / "nope.toml");
    CHECK(missing.code == 65);
    CHECK(missing.message.find((dir.path / "nope.toml").string()) != std::string::npos);
    Failure folder = failure_of(dir.path);
    CHECK(folder.code == 65);
    CHECK(folder.message.find(dir.path.string()) != std::string::npos);
    CHECK(folder.message.find("directory") != std::string::npos);
  }

  TEST_CASE("an unreadable file is bad input") {
    TempDir dir;
    fs::path file = dir.write("p.toml", minimal);
    fs::permissions(file, fs::perms::none);
    // Root reads every file: as root, the check runs in a child that dropped to nobody
    // (the directory stays traversable for it).
    if (::geteuid() != 0) {
      Failure f = failure_of(file);
      CHECK(f.code == 65);
      CHECK(f.message.find(file.string()) != std::string::npos);
      return;
    }
    fs::permissions(dir.path, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(3);
      Failure f = failure_of(file);
      ::_exit(f.code == 65 && f.message.find(file.string()) != std::string::npos ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    CHECK_MESSAGE(WEXITSTATUS(status) != 3, "could not drop to uid 65534");
    CHECK_MESSAGE(WEXITSTATUS(status) == 0, "as nobody, the unreadable profile was not refused with 65 naming it");
  }

  TEST_CASE("wrong types name the key, its position and both types") {
    TempDir dir;
    fs::path file = dir.write("p.toml", minimal + "[limits]\npids = \"abc\"\n");
    Failure f = failure_of(file);
    CHECK(f.code == 65);
    CHECK(f.message == file.string() + ":7:8: limits.pids: expected an integer, found a string");
    check_rejected("[network]\nmode = 1\n", "network.mode: expected a string, found an integer");
    check_rejected("[[mount]]\nsource = \".\"\ntarget = \"/x\"\nreadonly = \"yes\"\n", "mount[0].readonly: expected a boolean");
    check_rejected("[run.env]\nN = 1\n", "run.env.N: expected a string, found an integer");
    check_rejected("[seccomp]\nallow = \"ptrace\"\n", "seccomp.allow: expected an array, found a string");
    check_rejected("[seccomp]\nallow = [\"ptrace\", 1]\n", "seccomp.allow[1]: expected a string, found an integer");
    check_rejected("stack = \"docker\"\n", "stack: expected a table, found a string", true);
  }

  TEST_CASE("a bad size shows an accepted example") {
    TempDir dir;
    fs::path file = dir.write("p.toml", minimal + "[limits]\nmemory = \"512 MB\"\n");
    Failure f = failure_of(file);
    CHECK(f.code == 65);
    CHECK_MESSAGE(f.message.rfind(file.string() + ":7:10: limits.memory: '512 MB' is not a size; write e.g. \"512MiB\"", 0) == 0,
                  f.message);
    check_rejected("[limits]\ntimeout = \"5 min\"\n", "limits.timeout: '5 min' is not a duration; write e.g. \"30s\"");
    check_rejected("[limits]\nmemory = true\n", "limits.memory: expected a size");
    check_rejected("[limits]\ntimeout = 1.5\n", "limits.timeout: expected a duration");
  }

  TEST_CASE("unknown keys suggest the closest known key") {
    check_rejected("[limts]\npids = 1\n", "6:1: limts: unknown key; did you mean 'limits'?");
    check_rejected("nmae = \"x\"\n", "1:8: nmae: unknown key; did you mean 'name'?", true);
    check_rejected("[[mounts]]\n", "mounts: unknown key; did you mean 'mount'?");
    check_rejected("[limits]\nmemroy = \"1GiB\"\n", "7:10: limits.memroy: unknown key; did you mean 'memory'?");
    check_rejected("[stack]\nKind = \"docker\"\n", "stack.Kind: unknown key; did you mean 'kind'?");
    check_rejected("[[mount]]\nsource = \".\"\ntraget = \"/x\"\n", "mount[0].traget: unknown key; did you mean 'target'?");
    check_rejected("[network]\nfirewall = true\n", "network.firewall: unknown key; accepted here: mode");
    check_rejected("[rootfs.x]\n", "rootfs.x: unknown key");
  }

  TEST_CASE("unknown enum values list the accepted ones") {
    check_rejected("[stack]\nkind = \"dokcer\"\n",
                   "stack.kind: 'dokcer' is not accepted; did you mean 'docker'? (accepted: native, docker, gvisor, qemu, "
                   "firecracker, kubernetes, auto)");
    check_rejected("[stack]\nisolation = \"vm\"\n", "accepted: any, kernel, user-space-kernel, hardware");
    check_rejected("[stack.gvisor]\nplatform = \"kvmm\"\n", "stack.gvisor.platform: 'kvmm' is not accepted; did you mean 'kvm'?");
    check_rejected("[stack.qemu]\naccel = \"hvf\"\n", "stack.qemu.accel: 'hvf' is not accepted; accepted: auto, kvm, tcg");
    check_rejected("[network]\nmode = \"host\"\n", "network.mode: 'host' is not accepted; accepted: none, loopback");
    check_rejected("[seccomp]\nprofile = \"docker\"\n", "accepted: default, strict, unconfined");
    check_rejected("[seccomp]\naction = \"trap\"\n", "accepted: errno, kill, log");
    check_rejected("[verdict]\non_timeout = \"retry\"\n", "verdict.on_timeout: 'retry' is not accepted");
    check_rejected("[verdict]\non_signal = \"Fail\"\n", "verdict.on_signal: 'Fail' is not accepted; did you mean 'fail'?");
    check_rejected("[verdict]\non_oom = \"\"\n", "verdict.on_oom: '' is not accepted");
  }

  TEST_CASE("limits out of range are refused with the accepted range") {
    check_rejected("[limits]\npids = 0\n", "limits.pids: 0 is out of range; accepted: 1 to 4194304");
    check_rejected("[limits]\npids = 4194305\n", "limits.pids: 4194305 is out of range");
    check_rejected("[limits]\npids = -5\n", "limits.pids: -5 is out of range");
    check_rejected("[limits]\ncpus = 0\n", "limits.cpus: 0 is out of range");
    check_rejected("[limits]\ncpus = -1.5\n", "limits.cpus: -1.5 is out of range");
    check_rejected("[limits]\ncpus = 1025\n", "limits.cpus: 1025 is out of range");
    check_rejected("[limits]\ncpus = nan\n", "limits.cpus: nan is out of range");
    check_rejected("[limits]\ncpus = inf\n", "limits.cpus: inf is out of range");
    check_rejected("[limits]\nmemory = \"1MiB\"\n", "limits.memory: 1MiB is too small; the minimum is 4MiB");
    check_rejected("[limits]\nmemory = -1\n", "limits.memory: -1 is negative");
    check_rejected("[limits]\ntimeout = 0\n", "limits.timeout: 0s is too short");
    check_rejected("[limits]\ntimeout = \"0ms\"\n", "limits.timeout: 0s is too short");
    check_rejected("[limits]\ntimeout = -3\n", "limits.timeout: -3 is negative");
    check_rejected("[limits]\ntimeout = 9223372036854775807\n", "limits.timeout: 9223372036854775807 seconds is too long");
    check_rejected("[limits]\nopen_files = 0\n", "limits.open_files: 0 is out of range; accepted: 1 to 1048576");
    check_rejected("[limits]\nopen_files = 1048577\n", "limits.open_files: 1048577 is out of range");
    check_rejected("[limits]\ndisk = \"512KiB\"\n", "limits.disk: 512KiB is too small; the minimum is 1MiB");
    check_rejected("[limits]\noutput = 0\n", "limits.output: 0 is too small");
  }

  TEST_CASE("argv, cwd and other sandbox paths") {
    TempDir dir;
    fs::path file = dir.write("p.toml", "name = \"t\"\n[rootfs]\nimage = \"i.tar\"\n[run]\nargv = []\n");
    Failure f = failure_of(file);
    CHECK(f.code == 65);
    CHECK(f.message.find(":5:8: run.argv: is empty") != std::string::npos);

    fs::path no_argv = dir.write("q.toml", "name = \"t\"\n[rootfs]\nimage = \"i.tar\"\n[run]\ncwd = \"/\"\n");
    f = failure_of(no_argv);
    CHECK(f.code == 65);
    CHECK_MESSAGE(f.message.find("run.argv: required key is missing") != std::string::npos, f.message);
    CHECK(f.message.rfind(no_argv.string() + ":4:1:", 0) == 0);  // the [run] header

    fs::path no_run = dir.write("r.toml", "name = \"t\"\n[rootfs]\nimage = \"i.tar\"\n");
    CHECK(failure_of(no_run).message.rfind(no_run.string() + ":1:1: run.argv: required key is missing", 0) == 0);

    check_rejected("[verdict]\nfile = \"verdict.json\"\n", "verdict.file: 'verdict.json' is not an absolute path");
    check_rejected("[verdict]\nfile = \"/a/../../etc/passwd\"\n", "verdict.file: '/a/../../etc/passwd' contains '..'");
    check_rejected("[[mount]]\nsource = \".\"\ntarget = \"src\"\n", "mount[0].target: 'src' is not an absolute path");
    check_rejected("[[mount]]\nsource = \".\"\ntarget = \"/\"\n", "mount[0].target: cannot mount over the sandbox's root");
    check_rejected("[[mount]]\nsource = \".\"\n", "mount[0].target: required key is missing");
    check_rejected("[[mount]]\ntarget = \"/x\"\n", "mount[0].source: required key is missing");
    check_rejected("[[mount]]\nsource = \"\"\ntarget = \"/x\"\n", "mount[0].source: must not be empty");
    check_rejected("[[mount]]\nsource = \"a\"\ntarget = \"/x\"\n[[mount]]\nsource = \"b\"\ntarget = \"/x/\"\n",
                   "mount[1].target: '/x' is already the target of mount[0]");
    check_rejected("mount = { source = \"a\", target = \"/x\" }\n", "mount: expected an array, found a table", true);
    check_rejected("mount = [1]\n", "mount[0]: expected a table", true);
  }

  TEST_CASE("a relative cwd is refused") {
    TempDir dir;
    fs::path file = dir.write("p.toml", "name = \"t\"\n[rootfs]\nimage = \"i.tar\"\n[run]\nargv = [\"x\"]\ncwd = \"src\"\n");
    Failure f = failure_of(file);
    CHECK(f.code == 65);
    CHECK(f.message == file.string() + ":6:7: run.cwd: 'src' is not an absolute path; write e.g. \"/src\"");
    fs::path empty_prog = dir.write("q.toml", "name = \"t\"\n[rootfs]\nimage = \"i.tar\"\n[run]\nargv = [\"\", \"x\"]\n");
    CHECK(failure_of(empty_prog).message.find("run.argv[0]: the program must not be empty") != std::string::npos);
    fs::path nul = dir.write("n.toml", "name = \"t\"\n[rootfs]\nimage = \"i.tar\"\n[run]\nargv = [\"/bin/sh\", \"a\\u0000b\"]\n");
    CHECK(failure_of(nul).message.find(":5:20: run.argv[1]: contains a NUL character") != std::string::npos);
  }

  TEST_CASE("run.user, env names and hostname") {
    TempDir dir;
    Profile p = load_profile(dir.write("p.toml", minimal + "user = \"0\"\n"));
    CHECK(p.run.uid == 0);
    CHECK(p.run.gid == 0);
    p = load_profile(dir.write("q.toml", minimal + "user = \"1000\"\n"));
    CHECK(p.run.gid == 1000);
    for (const char* bad : {"abc", "1:2:3", "-1:0", "1000:", ":1000", "1 :2", "4294967295:0", "99999999999:0", ""}) {
      check_rejected(fmt::format("user = \"{}\"\n", bad), fmt::format("run.user: '{}' is not UID:GID", bad));
    }
    check_rejected("[run.env]\n\"A=B\" = \"x\"\n", "run.env.A=B: is not a valid environment variable name");
    check_rejected("[run.env]\n\"\" = \"x\"\n", "run.env.: is not a valid environment variable name");
    check_rejected("[run.env]\nA = \"x\\u0000y\"\n", "run.env.A: contains a NUL character");
    check_rejected("hostname = \"bad_host\"\n", "run.hostname: 'bad_host' is not a valid hostname");
    check_rejected("hostname = \"\"\n", "run.hostname: '' is not a valid hostname");
    check_rejected(fmt::format("hostname = \"{}\"\n", std::string(65, 'a')), "is not a valid hostname");
    CHECK(load_profile(dir.write("h.toml", minimal + fmt::format("hostname = \"{}\"\n", std::string(64, 'a')))).run.hostname.size() == 64);
  }

  TEST_CASE("verdict exit codes") {
    check_rejected("[verdict]\npass = [0, 256]\n", "verdict.pass[1]: 256 is out of range; accepted: 0 to 255");
    check_rejected("[verdict]\nerror = [-1]\n", "verdict.error[0]: -1 is out of range");
    check_rejected("[verdict]\npass = [0, 1]\nerror = [1, 2]\n",
                   "verdict.error: exit code 1 is in both verdict.pass and verdict.error");
    check_rejected("[verdict]\nerror = [0]\n", "verdict.error: exit code 0 is in both");  // clashes with the default pass
    check_rejected("[verdict]\npass = [125]\n", "verdict.pass: exit code 125 is in both");
  }

  TEST_CASE("verdict.file is refused under /proc, /sys and /dev, with file:line:col") {
    TempDir dir;
    for (const char* path : {"/proc/1/environ", "/proc", "/sys/kernel/notes", "/dev/stdin", "//proc/./self/environ"}) {
      CAPTURE(path);
      fs::path file = dir.write("v.toml", minimal + fmt::format("[verdict]\nfile = \"{}\"\n", path));
      Failure f = failure_of(file);
      CHECK(f.code == 65);
      CHECK_MESSAGE(f.message.rfind(file.string() + ":7:8: verdict.file: ", 0) == 0, f.message);
      CHECK_MESSAGE(f.message.find("a kernel interface") != std::string::npos, f.message);
    }
    for (const char* path : {"/gatebox/verdict.json", "/procs/verdict.json", "/device.json", "/tmp/sys/v.json"}) {
      CAPTURE(path);
      fs::path file = dir.write("ok.toml", minimal + fmt::format("[verdict]\nfile = \"{}\"\n", path));
      CHECK(load_profile(file).verdict.file == path);
    }
  }

  TEST_CASE("a profile that is a FIFO or a device is refused at once") {
    TempDir dir;
    fs::path fifo = dir.path / "p.toml";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    Failure f = failure_of(fifo);
    CHECK(f.code == 65);
    CHECK_MESSAGE(f.message.find("a FIFO (named pipe)") != std::string::npos, f.message);
    f = failure_of("/dev/zero");
    CHECK(f.code == 65);
    CHECK_MESSAGE(f.message.find("a character device") != std::string::npos, f.message);
  }

  TEST_CASE("rootfs: exactly one of image and dir, and a well-formed pin") {
    TempDir dir;
    fs::path none = dir.write("n.toml", "name = \"t\"\n[run]\nargv = [\"x\"]\n");
    Failure f = failure_of(none);
    CHECK(f.code == 65);
    CHECK(f.message.find("rootfs.image: required key is missing; set rootfs.image (a tar file) or rootfs.dir") != std::string::npos);
    fs::path both = dir.write("b.toml", "name = \"t\"\n[rootfs]\nimage = \"a.tar\"\ndir = \"tree\"\n[run]\nargv = [\"x\"]\n");
    CHECK(failure_of(both).message == both.string() + ":4:7: rootfs.dir: cannot be used together with rootfs.image; keep one of them");

    std::string digest(64, 'A');
    Profile p = load_profile(dir.write("s.toml", "name = \"t\"\n[rootfs]\nimage = \"a.tar\"\nsha256 = \"" + digest +
                                                     "\"\n[run]\nargv = [\"x\"]\n"));
    CHECK(p.rootfs.sha256 == std::string(64, 'a'));
    fs::path short_pin = dir.write("x.toml", "name = \"t\"\n[rootfs]\nimage = \"a.tar\"\nsha256 = \"abc\"\n[run]\nargv = [\"x\"]\n");
    CHECK(failure_of(short_pin).message.find("rootfs.sha256: 'abc' is not a sha256 digest") != std::string::npos);
    fs::path not_hex = dir.write("y.toml", "name = \"t\"\n[rootfs]\nimage = \"a.tar\"\nsha256 = \"" + std::string(64, 'g') +
                                               "\"\n[run]\nargv = [\"x\"]\n");
    CHECK(failure_of(not_hex).message.find("is not a sha256 digest") != std::string::npos);
    fs::path pinned_dir = dir.write("z.toml", "name = \"t\"\n[rootfs]\ndir = \"t\"\nsha256 = \"" + std::string(64, 'a') +
                                                  "\"\n[run]\nargv = [\"x\"]\n");
    CHECK(failure_of(pinned_dir).message.find("rootfs.sha256: pins an image file") != std::string::npos);
  }

  TEST_CASE("name and version") {
    TempDir dir;
    fs::path no_name = dir.write("p.toml", "[rootfs]\nimage = \"a.tar\"\n[run]\nargv = [\"x\"]\n");
    CHECK(failure_of(no_name).message == no_name.string() + ":1:1: name: required key is missing; add e.g. name = \"unit-tests\" (shown in logs and the report)");
    fs::path empty_name = dir.write("q.toml", "name = \"\"\n[rootfs]\nimage = \"a.tar\"\n[run]\nargv = [\"x\"]\n");
    CHECK(failure_of(empty_name).message == empty_name.string() + ":1:8: name: must not be empty");
    check_rejected("version = 2\n", "1:11: version: this gatebox reads schema version 1 only, found 2", true);
    check_rejected("version = \"1\"\n", "version: this gatebox reads schema version 1 only, found a string", true);
    CHECK(load_profile(dir.write("v.toml", "version = 1\n" + minimal)).version == 1);
  }

  TEST_CASE("seccomp lists hold syscall names") {
    check_rejected("[seccomp]\nallow = [\"Ptrace\"]\n", "seccomp.allow[0]: 'Ptrace' is not a system call name");
    check_rejected("[seccomp]\ndeny = [\"open at\"]\n", "seccomp.deny[0]: 'open at' is not a system call name");
    check_rejected("[seccomp]\nallow = [\"ptrace\"]\ndeny = [\"mount\", \"ptrace\"]\n",
                   "seccomp.deny[1]: 'ptrace' is also in seccomp.allow");
  }

  TEST_CASE("the first error is reported, the same way every time") {
    TempDir dir;
    fs::path file = dir.write("p.toml", minimal + "[limits]\npids = 0\nmemory = \"x\"\n[network]\nmode = \"y\"\n");
    Failure first = failure_of(file);
    CHECK(first.message.find("limits.memory") != std::string::npos);  // memory is checked before pids
    CHECK(failure_of(file).message == first.message);
  }

  TEST_CASE("--set overrides any key by dotted path, VALUE in TOML syntax") {
    TempDir dir;
    fs::path file = dir.write("p.toml", minimal);
    Overrides o;
    o.set = {"limits.pids=64", "limits.memory=\"2GiB\"", "stack.docker.runtime=\"runsc\"", "run.env.FOO=\"bar\"",
             "run.argv=[\"/bin/echo\", \"hi\"]", "name=\"renamed\""};
    Profile p = load_profile(file, o);
    CHECK(p.limits.pids == 64);
    CHECK(p.limits.memory == 2ULL << 30);
    CHECK(p.stack.docker.runtime == "runsc");
    CHECK(p.run.env.at("FOO") == "bar");
    CHECK(p.run.argv == std::vector<std::string>{"/bin/echo", "hi"});
    CHECK(p.name == "renamed");
  }

  TEST_CASE("a bad --set is a usage error naming the option") {
    TempDir dir;
    fs::path file = dir.write("p.toml", minimal);
    Failure f = failure_of(file, with_set("limits.pids=abc"));
    CHECK(f.code == 64);
    CHECK_MESSAGE(f.message.rfind("--set limits.pids=abc: 'abc' is not a TOML value", 0) == 0, f.message);

    f = failure_of(file, with_set("limits.pids=\"64\""));
    CHECK(f.code == 64);
    CHECK(f.message == "--set limits.pids=\"64\": limits.pids: expected an integer, found a string");

    f = failure_of(file, with_set("limits.pids=0"));
    CHECK(f.code == 64);
    CHECK(f.message == "--set limits.pids=0: limits.pids: 0 is out of range; accepted: 1 to 4194304");

    f = failure_of(file, with_set("limts.pids=1"));
    CHECK(f.code == 64);
    CHECK(f.message == "--set limts.pids=1: limts: unknown key; did you mean 'limits'?");

    f = failure_of(file, with_set("limits.memroy=\"1GiB\""));
    CHECK(f.code == 64);
    CHECK(f.message.find("limits.memroy: unknown key; did you mean 'memory'?") != std::string::npos);

    for (const char* bad : {"limits.pids", "=1", "limits..pids=1", "limits.pids=1\nname = \"x\"", "limits.pids.x=1",
                            "run.argv=[\"/bin/sh\""}) {
      CAPTURE(bad);
      f = failure_of(file, with_set(bad));
      CHECK(f.code == 64);
      CHECK(f.message.rfind(std::string("--set ") + bad + ": ", 0) == 0);
    }
    fs::path with_pids = dir.write("q.toml", minimal + "[limits]\npids = 5\n");
    f = failure_of(with_pids, with_set("limits.pids.x=1"));
    CHECK(f.code == 64);
    CHECK(f.message == "--set limits.pids.x=1: 'limits.pids' is not a table, so it has no key 'x'");
  }

  TEST_CASE("--mount adds bind mounts relative to the current directory") {
    TempDir dir;
    fs::path file = dir.write("p.toml", minimal + "[[mount]]\nsource = \"data\"\ntarget = \"/data\"\n");
    Overrides o;
    o.mounts = {".:/src", "/var/tmp:/scratch:rw", "out:/out:ro"};
    Profile p = load_profile(file, o);
    REQUIRE(p.mounts.size() == 4);
    CHECK(p.mounts[0].source == dir.path / "data");
    CHECK(p.mounts[1].source == fs::current_path());
    CHECK(p.mounts[1].target == "/src");
    CHECK(p.mounts[1].readonly);
    CHECK(p.mounts[2].source == "/var/tmp");
    CHECK_FALSE(p.mounts[2].readonly);
    CHECK(p.mounts[3].source == fs::current_path() / "out");
    CHECK(p.mounts[3].readonly);

    for (const char* bad : {"nocolon", ":/x", "a:", "a::ro", "a:relative", "a:/data"}) {
      CAPTURE(bad);
      Overrides m;
      m.mounts = {bad};
      Failure f = failure_of(file, m);
      CHECK(f.code == 64);
      CHECK_MESSAGE(f.message.rfind(std::string("--mount ") + bad + ": ", 0) == 0, f.message);
    }
  }

  TEST_CASE("--env, --timeout, --stack and argv") {
    TempDir dir;
    fs::path file = dir.write("p.toml", minimal + "[run.env]\nKEEP = \"1\"\n");
    Overrides o;
    o.env = {"CI=1", "PATH=/bin", "EMPTY=", "EQ=a=b"};
    o.timeout = "10s";
    o.stack = "docker";
    o.argv = {"/bin/sh", "-c", "exit 3"};
    Profile p = load_profile(file, o);
    CHECK(p.run.env.at("CI") == "1");
    CHECK(p.run.env.at("PATH") == "/bin");
    CHECK(p.run.env.at("EMPTY").empty());
    CHECK(p.run.env.at("EQ") == "a=b");
    CHECK(p.run.env.at("KEEP") == "1");
    CHECK(p.limits.timeout == 10s);
    CHECK(p.stack.kind == "docker");
    CHECK(p.run.argv == o.argv);

    Overrides bad_env;
    bad_env.env = {"=x"};
    CHECK(failure_of(file, bad_env).code == 64);
    bad_env.env = {"NOVALUE"};
    CHECK(failure_of(file, bad_env).message.rfind("--env NOVALUE: expected NAME=VALUE", 0) == 0);

    Overrides bad_timeout;
    bad_timeout.timeout = "5x";
    Failure f = failure_of(file, bad_timeout);
    CHECK(f.code == 64);
    CHECK(f.message.rfind("--timeout 5x: limits.timeout: '5x' is not a duration; write e.g. \"30s\"", 0) == 0);

    Overrides bad_stack;
    bad_stack.stack = "dokcer";
    f = failure_of(file, bad_stack);
    CHECK(f.code == 64);
    CHECK(f.message.rfind("--stack dokcer: stack.kind: 'dokcer' is not accepted; did you mean 'docker'?", 0) == 0);

    // Found by the profile fuzzer: bytes that are not UTF-8 could not be printed back.
    for (const std::string bad : {"X=\xff", "X=\xc0\xaf", "X=\xed\xa0\x80", "X=a\xe2\x82"}) {
      Overrides not_utf8;
      not_utf8.env = {bad};
      f = failure_of(file, not_utf8);
      CHECK(f.code == 64);
      CHECK(f.message == "--env: is not valid UTF-8 text; profiles (TOML) hold UTF-8 only");
    }
    Overrides argv_not_utf8;
    argv_not_utf8.argv = {"/bin/echo", "caf\xe9"};
    CHECK(failure_of(file, argv_not_utf8).code == 64);
    Overrides utf8;
    utf8.env = {"X=caf\xc3\xa9 \xf0\x9f\x9a\xa6"};
    CHECK(failure_of(file, utf8).code == 0);
  }

  TEST_CASE("an override can complete a profile, but never takes the blame for the file") {
    TempDir dir;
    fs::path file = dir.write("p.toml", "name = \"t\"\n[rootfs]\nimage = \"i.tar\"\n");
    Overrides argv;
    argv.argv = {"/bin/true"};
    CHECK(load_profile(file, argv).run.argv == argv.argv);

    Overrides env;
    env.env = {"A=1"};  // creates [run], but the missing argv is still the profile's fault
    Failure f = failure_of(file, env);
    CHECK(f.code == 65);
    CHECK(f.message.rfind(file.string() + ":1:1: run.argv: required key is missing", 0) == 0);

    fs::path broken = dir.write("b.toml", minimal + "[limits]\npids = 0\n");
    Overrides fine;
    fine.timeout = "1m";
    CHECK(failure_of(broken, fine).code == 65);
    CHECK(load_profile(broken, with_set("limits.pids=8")).limits.pids == 8);  // ... and --set can fix it
  }

  TEST_CASE("stack kubernetes: a registry, and only what a \"restricted\" Job can do") {
    const std::string kube = "[stack]\nkind = \"kubernetes\"\n[stack.kubernetes]\nregistry = \"127.0.0.1:5000/gates\"\n";
    TempDir dir;
    Profile p = load_profile(dir.write("ok.toml", minimal + kube + "[verdict]\nfile = \"/out/verdict.json\"\n"));
    CHECK(p.stack.kind == "kubernetes");
    CHECK(p.stack.kubernetes.registry == "127.0.0.1:5000/gates");
    CHECK(p.verdict.file == "/out/verdict.json");  // it becomes the termination message
    CHECK(load_profile(dir.write("ro.toml", minimal + kube + "[[mount]]\nsource = \".\"\ntarget = \"/src\"\n")).mounts.size() == 1);
    CHECK(load_profile(dir.write("lh.toml", minimal + kube +
                                               "seccomp = \"Localhost\"\nseccomp_profile = \"gatebox/gate.json\"\n"
                                               "[seccomp]\nallow = [\"ptrace\"]\n"))
              .seccomp.allow.size() == 1);  // the Localhost profile decides; allow documents it

    // Line 6 is [stack]: the table that lacks the key takes the blame.
    Failure f = failure_of(dir.write("noreg.toml", minimal + "[stack]\nkind = \"kubernetes\"\n"));
    CHECK(f.code == 65);
    CHECK_MESSAGE(f.message.find("stack.kubernetes.registry: required key is missing") != std::string::npos, f.message);
    f = failure_of(dir.write("emptyreg.toml", minimal + "[stack]\nkind = \"kubernetes\"\n[stack.kubernetes]\nregistry = \"\"\n"));
    CHECK_MESSAGE(f.message.rfind(dir.path.string() + "/emptyreg.toml:9:12: stack.kubernetes.registry: must not be empty", 0) == 0,
                  f.message);

    check_rejected(kube + "seccomp = \"Localhost\"\n", "stack.kubernetes.seccomp: \"Localhost\" needs seccomp_profile");
    check_rejected(kube + "seccomp_profile = \"a.json\"\n", "stack.kubernetes.seccomp_profile: is used only with seccomp = \"Localhost\"");
    check_rejected(kube + "seccomp = \"localhost\"\n", "stack.kubernetes.seccomp");
    check_rejected("user = \"0:0\"\n" + kube, "run.user: the kubernetes stack runs the gate with runAsNonRoot");
    check_rejected("env = { \"1X\" = \"a\" }\n" + kube, "is not an environment variable name Kubernetes accepts");
    check_rejected(kube + "[seccomp]\nprofile = \"unconfined\"\n", "seccomp.profile: \"unconfined\" is forbidden");
    check_rejected(kube + "[seccomp]\nallow = [\"ptrace\"]\n", "seccomp.allow: the kubernetes stack uses the cluster's seccomp");
    check_rejected(kube + "[seccomp]\ndeny = [\"mount\"]\n", "seccomp.deny: the kubernetes stack uses the cluster's seccomp");
    check_rejected(kube + "[[mount]]\nsource = \".\"\ntarget = \"/src\"\nreadonly = false\n",
                   "mount[0].readonly: stack kubernetes copies mounts into the pod's image");
    check_rejected(kube + "[[mount]]\nsource = \".\"\ntarget = \"/tmp/src\"\n", "mount[0].target: is under /tmp");

    // Key formats are checked whatever the stack.
    check_rejected("[stack.kubernetes]\nnamespace = \"Gates\"\n", "stack.kubernetes.namespace: 'Gates' is not a DNS label");
    check_rejected("[stack.kubernetes]\nruntime_class = \"kata_fc\"\n", "stack.kubernetes.runtime_class: 'kata_fc' is not a DNS label");
    for (const char* bad : {"Pull", "a..b", ".a", "a.", "a_b", "-a"}) {
      CAPTURE(bad);
      check_rejected(std::string("[stack.kubernetes]\nimage_pull_secret = \"") + bad + "\"\n",
                     "stack.kubernetes.image_pull_secret: '" + std::string(bad) + "' is not a Kubernetes object name");
    }
    check_rejected("[stack.kubernetes]\nseccomp_profile = \"../etc/x.json\"\n", "without \"..\"");
    check_rejected("[stack.kubernetes]\nseccomp_profile = \"/etc/x.json\"\n", "relative to the kubelet's seccomp root");
    for (const char* bad : {"registry.example.com", "registry.example.com/Gates", "host/repo:latest", "ftp://host/repo",
                            "host/repo@sha256:ab", "host//repo"}) {
      check_rejected(fmt::format("[stack.kubernetes]\nregistry = \"{}\"\n", bad), "stack.kubernetes.registry: '");
    }
    CHECK(load_profile(dir.write("https.toml", minimal + "[stack.kubernetes]\nregistry = \"https://[::1]:5000/a/b-c_d.e\"\n"))
              .stack.kubernetes.registry == "https://[::1]:5000/a/b-c_d.e");
    check_rejected("[stack.kubernetes]\nnamspace = \"x\"\n", "did you mean 'namespace'?");

    // --stack kubernetes applies the same rules to a profile written for another stack.
    Overrides to_kube;
    to_kube.stack = "kubernetes";
    f = failure_of(dir.write("other.toml", minimal), to_kube);
    CHECK(f.code == 65);
    CHECK(f.message.find("stack.kubernetes.registry: required key is missing") != std::string::npos);
    CHECK(load_profile(dir.write("other2.toml", minimal), with_set("stack.kubernetes.registry=\"r.example/g\"")).stack.kind ==
          "native");
  }

  TEST_CASE("profile_to_toml writes every key and reads back into the same profile") {
    TempDir dir;
    fs::path file = dir.write("gates/p.toml", R"(name = "round \"trip\""
description = "line one\nline two\ttab \\ back"
[stack]
kind = "gvisor"
requires = ["fuse"]
[stack.gvisor]
platform = "ptrace"
[stack.qemu]
kernel = "k/vmlinux"
[stack.kubernetes]
kubeconfig = "../kubeconfig"
namespace = "gates"
registry = "registry.example.com:5000/gatebox"
[rootfs]
image = "../img.tar.zst"
sha256 = ")" + std::string(64, 'B') + R"("
max_bytes = 1000
[run]
argv = ["/bin/sh", "-c", "echo \"$HOME\""]
cwd = "/work/"
user = "7"
env = { "odd.name" = "x", "sp ace" = "y", CI = "1" }
[limits]
timeout = "1500ms"
memory = "5MiB"
cpus = 0.1
output = 12345
[network]
mode = "loopback"
[seccomp]
allow = ["ptrace"]
deny = ["mount"]
action = "log"
[[mount]]
source = "."
target = "/src"
readonly = false
[verdict]
pass = [0, 10]
error = []
on_oom = "error"
file = "/out/v.json"
)");
    Profile original = load_profile(file);
    std::string text = profile_to_toml(original);
    for (const char* key : {"version = 1", "[stack.docker]", "[stack.firecracker]", "max_entries = 2000000",
                            "hostname = \"gatebox\"", "timeout = \"1500ms\"", "memory = \"5MiB\"", "cpus = 0.1",
                            "disk = \"1GiB\"", "output = \"12345\"", "open_files = 1024", "user = \"7:7\"",
                            "action = \"log\"", "readonly = false", "on_timeout = \"fail\"", "error = []",
                            "[stack.kubernetes]", "namespace = \"gates\"", "seccomp = \"RuntimeDefault\"",
                            "seccomp_profile = \"\""}) {
      CAPTURE(key);
      CHECK(text.find(key) != std::string::npos);
    }
    CHECK(text.find("image = \"" + (dir.path / "img.tar.zst").string() + "\"") != std::string::npos);

    // Elsewhere, so that only absolute paths can make it load the same.
    TempDir other;
    Profile again = load_profile(other.write("printed.toml", text));
    CHECK(profile_to_toml(again) == text);
    CHECK(again.name == original.name);
    CHECK(again.description == original.description);
    CHECK(again.rootfs.image == original.rootfs.image);
    CHECK(again.rootfs.sha256 == std::string(64, 'b'));
    CHECK(again.stack.qemu.kernel == original.stack.qemu.kernel);
    CHECK(again.stack.kubernetes.kubeconfig == (dir.path / "kubeconfig").string());
    CHECK(again.stack.kubernetes.registry == "registry.example.com:5000/gatebox");
    CHECK(again.run.argv == original.run.argv);
    CHECK(again.run.env == original.run.env);
    CHECK(again.limits.cpus == original.limits.cpus);
    CHECK(again.limits.timeout == original.limits.timeout);
    CHECK(again.mounts.at(0).source == original.mounts.at(0).source);
    CHECK(again.verdict.error.empty());

    Profile defaults = load_profile(dir.write("d.toml", minimal));
    std::string printed = profile_to_toml(defaults);
    CHECK(profile_to_toml(load_profile(other.write("d.toml", printed))) == printed);
    CHECK(printed.find("cpus = 1.0") != std::string::npos);

    Profile kube = load_profile(dir.write("k.toml", minimal + R"([stack]
kind = "kubernetes"
[stack.kubernetes]
context = "ci"
runtime_class = "gvisor"
registry = "http://127.0.0.1:5000/gatebox"
seccomp = "Localhost"
seccomp_profile = "gatebox/gate.json"
)"));
    std::string kube_text = profile_to_toml(kube);
    Profile kube_again = load_profile(other.write("k.toml", kube_text));
    CHECK(profile_to_toml(kube_again) == kube_text);
    CHECK(kube_again.stack.kubernetes.context == "ci");
    CHECK(kube_again.stack.kubernetes.seccomp_profile == "gatebox/gate.json");
  }
}
