#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "stack/native/child.hpp"
#include "stack/native/plan.hpp"
#include "util/error.hpp"

using namespace gatebox;

namespace {

struct Fixture {
  Profile profile;
  RootfsTree rootfs;
  SeccompPolicy seccomp;
  std::vector<ResolvedMount> mounts;
  LogSink logs{LogSink::Options{}};

  Fixture() {
    profile.name = "t";
    profile.run.argv = {"sh", "-c", "true"};
    profile.limits.disk = 64ULL << 20;
    rootfs.dir = "/cache/rootfs/abc";
    seccomp.unconfined = true;
  }
  SetupPlan plan(bool root = true, std::uint32_t id_base = 0) {
    RunRequest req{profile, rootfs, seccomp, mounts, logs, "/cache", "1-ab"};
    return build_plan(req, PlanHost{root, "/cache/run/1-ab", 40, true, id_base});
  }
};

const MountOp* find(const SetupPlan& plan, const std::string& target) {
  auto it = std::find_if(plan.ops.begin(), plan.ops.end(), [&](const MountOp& o) { return o.target == target; });
  return it == plan.ops.end() ? nullptr : &*it;
}

std::ptrdiff_t index_of(const SetupPlan& plan, const std::string& target) {
  const MountOp* op = find(plan, target);
  return op == nullptr ? -1 : op - plan.ops.data();
}

}  // namespace

TEST_SUITE("native::plan") {
  TEST_CASE("the root is an overlay over the cached tree with a disk-sized scratch tmpfs") {
    Fixture f;
    SetupPlan p = f.plan();
    CHECK(p.overlay_data == "lowerdir=/cache/rootfs/abc,upperdir=/cache/run/1-ab/upper,workdir=/cache/run/1-ab/work");
    CHECK(p.scratch_data.find("size=67108864") != std::string::npos);
    CHECK(p.scratch_data.find("nr_inodes=") != std::string::npos);
    CHECK_FALSE(p.user_namespace);
    SetupPlan unpriv = f.plan(false);
    CHECK(unpriv.user_namespace);
    CHECK(unpriv.unprivileged);
    CHECK(unpriv.overlay_data.find(",userxattr") != std::string::npos);
  }

  TEST_CASE("as root with an id range, a user namespace over the idmapped tree attached in the scratch tmpfs") {
    Fixture f;
    SetupPlan p = f.plan(true, 1U << 30);
    CHECK(p.user_namespace);
    CHECK_FALSE(p.unprivileged);
    CHECK(p.id_base == 1U << 30);
    // Relative to the scratch tmpfs, the child's working directory: the run dir's parents
    // may be closed to the sandbox's ids.
    CHECK(p.lower_dir == "lower");
    CHECK(p.overlay_data == "lowerdir=lower,upperdir=upper,workdir=work,userxattr");
    CHECK(describe_plan(p).find("ids 0-65535 are host ids 1073741824-1073807359") != std::string::npos);
  }

  TEST_CASE("a fresh /proc with host-revealing entries masked and kernel knobs read-only") {
    Fixture f;
    SetupPlan p = f.plan();
    const MountOp* proc = find(p, "proc");
    REQUIRE(proc != nullptr);
    CHECK(proc->kind == OpKind::proc);
    const MountOp* kcore = find(p, "proc/kcore");
    REQUIRE(kcore != nullptr);
    CHECK(kcore->kind == OpKind::bind);
    CHECK(kcore->source == "/dev/null");
    for (const char* ro : {"proc/sys", "proc/sysrq-trigger"}) {
      const MountOp* op = find(p, ro);
      REQUIRE(op != nullptr);
      CHECK(op->kind == OpKind::rebind);
      CHECK(op->readonly);
      CHECK(index_of(p, ro) > index_of(p, "proc"));
    }
  }

  TEST_CASE("each masked or read-only /proc entry is planned as the kind this kernel has") {
    // The child refuses a file resolved as a directory (ENOTDIR) and the reverse: a wrong
    // kind here once left /proc/sysrq-trigger writable, skipped in silence.
    Fixture f;
    SetupPlan p = f.plan();
    const MountOp* sysrq = find(p, "proc/sysrq-trigger");
    REQUIRE(sysrq != nullptr);
    CHECK(sysrq->hardening);
    CHECK_FALSE(sysrq->is_dir);
    int checked = 0;
    for (const MountOp& op : p.ops) {
      if (!op.hardening) continue;
      CAPTURE(op.target);
      CHECK(op.target.rfind("proc/", 0) == 0);
      struct stat st;
      if (::lstat(("/" + op.target).c_str(), &st) != 0) {
        CHECK(errno == ENOENT);  // this kernel lacks it: the one failure the child skips
        continue;
      }
      CHECK_FALSE(S_ISLNK(st.st_mode));
      CHECK(S_ISDIR(st.st_mode) == (op.kind == OpKind::tmpfs || op.is_dir));
      ++checked;
    }
    CHECK(checked >= 5);  // at least kcore, sys, sysrq-trigger, irq, fs exist on any Linux here
  }

  TEST_CASE("a hardening step is skipped only when its target does not exist") {
    Fixture f;
    SetupPlan p = f.plan();
    const MountOp* sysrq = find(p, "proc/sysrq-trigger");
    REQUIRE(sysrq != nullptr);
    CHECK(op_failure_skipped(*sysrq, ENOENT));
    for (int err : {ENOTDIR, EISDIR, ELOOP, EPERM, EACCES, EINVAL}) {
      CAPTURE(err);
      CHECK_FALSE(op_failure_skipped(*sysrq, err));
    }
    // A profile mount or a /dev node is never optional, whatever the error.
    const MountOp* null_dev = find(p, "dev/null");
    REQUIRE(null_dev != nullptr);
    CHECK_FALSE(null_dev->hardening);
    CHECK_FALSE(op_failure_skipped(*null_dev, ENOENT));
  }

  TEST_CASE("a minimal /dev: the six devices, a private devpts, shm, and the usual links") {
    Fixture f;
    SetupPlan p = f.plan();
    for (const char* dev : {"null", "zero", "full", "random", "urandom", "tty"}) {
      const MountOp* op = find(p, std::string("dev/") + dev);
      REQUIRE(op != nullptr);
      CHECK(op->source == std::string("/dev/") + dev);
      CHECK_FALSE(op->is_dir);
    }
    const MountOp* pts = find(p, "dev/pts");
    REQUIRE(pts != nullptr);
    CHECK(pts->data.find("newinstance") != std::string::npos);
    CHECK(find(p, "dev/ptmx")->source == "pts/ptmx");
    CHECK(find(p, "dev/fd")->source == "/proc/self/fd");
    CHECK(find(p, "dev/kmsg") == nullptr);
    CHECK(find(p, "dev/mem") == nullptr);
  }

  TEST_CASE("/tmp and the verdict file's folder are writable by the gate") {
    Fixture f;
    f.profile.verdict.file = "/gatebox/out/verdict.json";
    SetupPlan p = f.plan();
    const MountOp* tmp = find(p, "tmp");
    REQUIRE(tmp != nullptr);
    // A tmpfs of its own as on every stack: limits.disk, exec, nosuid, nodev, sticky.
    CHECK(tmp->kind == OpKind::tmpfs);
    CHECK(tmp->flags == (MS_NOSUID | MS_NODEV));
    CHECK(tmp->data.find("size=" + std::to_string(f.profile.limits.disk)) == 0);
    CHECK(tmp->data.find("mode=1777") != std::string::npos);
    REQUIRE(find(p, "gatebox/out") != nullptr);
    CHECK(find(p, "gatebox/out")->mode == 01777);
    CHECK(p.verdict_file == "/gatebox/out/verdict.json");
  }

  TEST_CASE("profile mounts come last, in order, nosuid and nodev, read-only unless asked") {
    Fixture f;
    auto opened = std::make_shared<const Fd>(::open("/", O_PATH | O_CLOEXEC));
    f.mounts = {{"/home/me/src", "/src", true, true, opened}, {"/home/me/out", "/out", false, true, opened}};
    SetupPlan p = f.plan();
    const MountOp* src = find(p, "src");
    const MountOp* out = find(p, "out");
    REQUIRE(src != nullptr);
    REQUIRE(out != nullptr);
    CHECK(src->readonly);
    CHECK_FALSE(out->readonly);
    CHECK((src->flags & MS_NOSUID) != 0);
    CHECK((src->flags & MS_NODEV) != 0);
    CHECK(index_of(p, "src") < index_of(p, "out"));
    CHECK(index_of(p, "src") > index_of(p, "dev/shm"));
    CHECK(src->what.find("/home/me/src -> /src") != std::string::npos);
    // Bound from the descriptor checked against the policy, recursively (child.cpp).
    CHECK(src->source_fd == opened->get());
    CHECK(out->source_fd == opened->get());
    CHECK(describe_plan(p).find("/src <- /home/me/src read-only (recursively)") != std::string::npos);
  }

  TEST_CASE("a profile mount whose source was never opened is not bound by name") {
    Fixture f;
    f.mounts = {{"/home/me/src", "/src", true, true}};
    try {
      f.plan();
      FAIL("no error was thrown");
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::internal);
      CHECK(std::string(e.what()).find("was not opened") != std::string::npos);
    }
  }

  TEST_CASE("identity, limits and exec arguments come from the profile") {
    Fixture f;
    f.profile.run.uid = 1000;
    f.profile.run.gid = 100;
    f.profile.run.env = {{"PATH", "/opt/bin:/bin"}, {"CI", "1"}};
    f.profile.limits.open_files = 77;
    SetupPlan p = f.plan();
    CHECK(p.uid == 1000);
    CHECK(p.gid == 100);
    CHECK(p.nofile == 77);
    CHECK(p.nproc == 0);
    CHECK(p.exec_candidates == std::vector<std::string>{"/opt/bin/sh", "/bin/sh"});
    REQUIRE(p.argv.size() == 4);
    CHECK(std::string(p.argv[0]) == "sh");
    CHECK(p.argv[3] == nullptr);
    REQUIRE(p.envp.size() == 3);
    CHECK(std::string(p.envp[0]) == "CI=1");
    CHECK(p.seccomp.empty());
  }

  TEST_CASE("without cgroups, pids and memory fall back to rlimits") {
    Fixture f;
    RunRequest req{f.profile, f.rootfs, f.seccomp, f.mounts, f.logs, "/cache", "1-ab"};
    SetupPlan p = build_plan(req, PlanHost{false, "/cache/run/1-ab", 40, false});
    CHECK(p.nproc == f.profile.limits.pids);
    CHECK(p.address_space == f.profile.limits.memory);
  }

  TEST_CASE("paths overlayfs cannot carry are refused before anything starts") {
    Fixture f;
    f.rootfs.dir = "/cache,evil/rootfs";
    try {
      f.plan();
      FAIL("expected an error");
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::bad_input);
      CHECK(std::string(e.what()).find("--cache-dir") != std::string::npos);
    }
  }

  TEST_CASE("PATH search: argv[0] with a slash is used as is") {
    CHECK(exec_candidates("/bin/true", {}) == std::vector<std::string>{"/bin/true"});
    CHECK(exec_candidates("./run", {{"PATH", "/x"}}) == std::vector<std::string>{"./run"});
    CHECK(exec_candidates("t", {{"PATH", "/:/a/"}}) == std::vector<std::string>{"/t", "/a//t"});
  }
}
