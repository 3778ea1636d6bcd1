#include "stack/native/cgroup.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "util/error.hpp"

namespace fs = std::filesystem;
using namespace gatebox;

namespace {

// A fake cgroupfs: directories and control files as regular files in a temp dir.
struct FakeFs {
  fs::path root;
  FakeFs() {
    std::string tmpl = (fs::temp_directory_path() / "gatebox-cgtest-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    root = tmpl;
  }
  ~FakeFs() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  FakeFs(const FakeFs&) = delete;
  FakeFs& operator=(const FakeFs&) = delete;

  void put(const fs::path& rel, const std::string& content = "") const {
    fs::create_directories((root / rel).parent_path());
    std::ofstream(root / rel) << content;
  }
  std::string get(const fs::path& rel) const {
    std::ifstream in(root / rel);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  bool has(const fs::path& rel) const { return fs::exists(root / rel); }
};

const char* const v2_controllers = "cpuset cpu io memory hugetlb pids rdma misc\n";

// What the kernel shows in a fresh v2 child cgroup (the subset gatebox touches).
void put_v2_run(const FakeFs& f, const std::string& run, bool with_pids = true, bool with_cpu = true) {
  f.put("cgroup.controllers", v2_controllers);
  f.put("cgroup.subtree_control");
  f.put("gatebox/cgroup.controllers", v2_controllers);
  f.put("gatebox/cgroup.subtree_control");
  const fs::path d = fs::path("gatebox") / run;
  for (const char* file : {"cgroup.procs", "cgroup.kill", "cgroup.freeze", "memory.max", "memory.swap.max",
                           "memory.oom.group", "memory.events", "memory.peak", "cpu.stat"})
    f.put(d / file);
  if (with_pids) f.put(d / "pids.max", "max\n");
  if (with_cpu) f.put(d / "cpu.max", "max 100000\n");
}

// A hybrid host with cpu and cpuacct mounted together and the usual symlinks to it.
void put_v1_hierarchies(const FakeFs& f, bool with_pids = true) {
  f.put("unified/cgroup.controllers", "");
  fs::create_directories(f.root / "memory");
  fs::create_directories(f.root / "freezer");
  fs::create_directories(f.root / "cpu,cpuacct");
  fs::create_symlink("cpu,cpuacct", f.root / "cpu");
  fs::create_symlink("cpu,cpuacct", f.root / "cpuacct");
  if (with_pids) fs::create_directories(f.root / "pids");
}

void put_v1_run(const FakeFs& f, const std::string& run) {
  const fs::path g = fs::path("gatebox") / run;
  for (const char* file : {"cgroup.procs", "memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.oom_control",
                           "memory.failcnt", "memory.max_usage_in_bytes"})
    f.put("memory" / g / file);
  if (fs::exists(f.root / "pids")) {
    f.put("pids" / g / "cgroup.procs");
    f.put("pids" / g / "pids.max", "max\n");
  }
  for (const char* file : {"cgroup.procs", "cpu.cfs_period_us", "cpu.cfs_quota_us", "cpuacct.stat", "cpuacct.usage_user",
                           "cpuacct.usage_sys"})
    f.put("cpu,cpuacct" / g / file);
}

// A pid that existed a moment ago and is gone now.
pid_t dead_pid() {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

// A child that sleeps until killed.
pid_t sleeper() {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::pause();
    ::_exit(0);
  }
  return pid;
}

int wait_signal(pid_t pid) {
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

std::string run_id() {
  std::random_device rd;
  return fmt::format("{}-{:08x}", ::getpid(), rd());
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Whether the real-cgroup tests can run here, decided from the kernel's mount table and the
// euid alone: never from detect_cgroups(), the code under test (a broken detection must fail
// these tests, not skip them). Usable: root, and either cgroup2 at /sys/fs/cgroup or v1
// hierarchies with the memory and pids controllers under it.
struct CgroupMounts {
  bool v2_root = false;
  fs::path v2_any;  // a cgroup2 mount under /sys/fs/cgroup (the root one, or a hybrid's)
  bool v1_memory = false;
  bool v1_pids = false;
};

CgroupMounts cgroup_mounts() {
  CgroupMounts m;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, mount_point, word;
    fields >> id >> parent >> dev >> root >> mount_point;
    while (fields >> word && word != "-") {
    }
    std::string fstype, source, super_options;
    fields >> fstype >> source >> super_options;
    const bool under = mount_point == "/sys/fs/cgroup" || mount_point.rfind("/sys/fs/cgroup/", 0) == 0;
    if (!under) continue;
    if (fstype == "cgroup2") {
      if (mount_point == "/sys/fs/cgroup") m.v2_root = true;
      if (m.v2_any.empty() || mount_point == "/sys/fs/cgroup") m.v2_any = mount_point;
    } else if (fstype == "cgroup") {
      std::istringstream opts(super_options);
      for (std::string opt; std::getline(opts, opt, ',');) {
        if (opt == "memory") m.v1_memory = true;
        if (opt == "pids") m.v1_pids = true;
      }
    }
  }
  return m;
}

bool real_cgroups_mounted() {
  if (::geteuid() != 0) return false;
  const auto m = cgroup_mounts();
  if (m.v1_memory && m.v1_pids) return true;
  if (!m.v2_root) return false;
  std::ifstream controllers("/sys/fs/cgroup/cgroup.controllers");
  std::string all((std::istreambuf_iterator<char>(controllers)), std::istreambuf_iterator<char>());
  return all.find("memory") != std::string::npos && all.find("pids") != std::string::npos;
}

bool real_cgroup2_mounted() { return ::geteuid() == 0 && !cgroup_mounts().v2_any.empty(); }

// Skipped (doctest counts and prints it) where the host cannot take the real-cgroup tests.
const auto needs_real_cgroups = doctest::skip(!real_cgroups_mounted());

bool host_is_v2(const fs::path& root) { return detect_cgroups(root).layout == CgroupLayout::v2; }

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A forked child held at a pipe until go(), so it can be put into a cgroup before it runs
// anything that should be limited. Without a body it waits to be killed.
struct Gated {
  pid_t pid = -1;
  int release = -1;
  explicit Gated(void (*body)() = nullptr) {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[1]);
      char c;
      if (::read(fds[0], &c, 1) != 1) ::_exit(3);
      if (body) body();
      ::pause();
      ::_exit(0);
    }
    ::close(fds[0]);
    release = fds[1];
    if (!body) go();
  }
  void go() {
    if (release < 0) return;
    REQUIRE(::write(release, "x", 1) == 1);
    ::close(release);
    release = -1;
  }
  int wait() {
    int sig = wait_signal(pid);
    pid = -1;
    return sig;
  }
  ~Gated() {
    if (release >= 0) ::close(release);
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  Gated(const Gated&) = delete;
  Gated& operator=(const Gated&) = delete;
};

}  // namespace

TEST_SUITE("stack::native::cgroup") {
  TEST_CASE("layout is told from the files under the root") {
    SUBCASE("pure v2") {
      FakeFs f;
      f.put("cgroup.controllers", v2_controllers);
      auto host = detect_cgroups(f.root, "");
      CHECK(host.layout == CgroupLayout::v2);
      CHECK(host.description == "v2 (memory, pids, cpu)");
      CHECK(host.unusable_reason.empty());
    }
    SUBCASE("v2 without the pids controller is unusable, and says so") {
      FakeFs f;
      f.put("cgroup.controllers", "cpu memory\n");
      auto host = detect_cgroups(f.root, "");
      CHECK(host.layout == CgroupLayout::v2);
      CHECK(host.unusable_reason.find("pids") != std::string::npos);
    }
    SUBCASE("hybrid, cpu and cpuacct mounted together") {
      FakeFs f;
      put_v1_hierarchies(f);
      auto host = detect_cgroups(f.root, "");
      CHECK(host.layout == CgroupLayout::hybrid);
      CHECK(host.description == "v1/v2 hybrid (memory, pids, cpu on v1)");
    }
    SUBCASE("v1 without unified") {
      FakeFs f;
      fs::create_directories(f.root / "memory");
      fs::create_directories(f.root / "pids");
      auto host = detect_cgroups(f.root, "");
      CHECK(host.layout == CgroupLayout::v1);
      CHECK(host.description == "v1 (memory, pids on v1)");
    }
    SUBCASE("nothing there") {
      FakeFs f;
      auto host = detect_cgroups(f.root, "");
      CHECK(host.layout == CgroupLayout::none);
      CHECK(host.unusable_reason.find(f.root.string()) != std::string::npos);
    }
  }

  TEST_CASE("cgroup mounts under the root decide over the files") {
    FakeFs f;
    // Files say v2, mounts say v1 with oddly named hierarchies: the mounts win.
    f.put("cgroup.controllers", v2_controllers);
    const std::string r = f.root.string();
    std::string mounts = fmt::format(
        "tmpfs {0} tmpfs rw 0 0\n"
        "cgroup {0}/mem\\040ory cgroup rw,nosuid,memory 0 0\n"
        "cgroup {0}/cpu,cpuacct cgroup rw,cpu,cpuacct 0 0\n"
        "cgroup {0}/systemd cgroup rw,xattr,name=systemd 0 0\n"
        "cgroup2 {0}/unified cgroup2 rw 0 0\n"
        "cgroup /elsewhere/pids cgroup rw,pids 0 0\n",
        r);
    fs::create_directories(f.root / "mem ory");
    auto host = detect_cgroups(f.root, mounts);
    CHECK(host.layout == CgroupLayout::hybrid);
    CHECK(host.description == "v1/v2 hybrid (memory, cpu on v1)");
    CHECK(host.unusable_reason.find("pids") != std::string::npos);  // the one outside the root does not count

    auto v2 = detect_cgroups(f.root, fmt::format("cgroup2 {}/ cgroup2 rw,nsdelegate 0 0\n", r));
    CHECK(v2.layout == CgroupLayout::v2);
  }

  TEST_CASE("a user who cannot write the cgroup tree is told why limits are not cgroups") {
    FakeFs f;
    f.put("cgroup.controllers", v2_controllers);
    ::chmod(f.root.c_str(), 0755);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      if (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0) ::_exit(3);
      auto host = detect_cgroups(f.root, "");
      ::_exit(host.unusable_reason.find("cgroup limits need root") != std::string::npos ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 3) {
      MESSAGE("cannot drop to uid 65534 here; skipped");
      return;
    }
    CHECK(WEXITSTATUS(status) == 0);
  }

  TEST_CASE("v2: limits are written to the run's cgroup") {
    FakeFs f;
    const std::string run = "4242-0a1b";
    put_v2_run(f, run);
    const fs::path d = fs::path("gatebox") / run;
    {
      auto cg = create_cgroup(run, {.memory_bytes = 64ULL << 20, .pids = 16, .cpus = 1.5}, f.root);
      CHECK(cg->path() == (f.root / d).string());
      CHECK(f.get(d / "memory.max") == "67108864");
      CHECK(f.get(d / "memory.swap.max") == "0");
      CHECK(f.get(d / "memory.oom.group") == "1");
      CHECK(f.get(d / "pids.max") == "16");
      CHECK(f.get(d / "cpu.max") == "150000 100000");
      CHECK(f.get("cgroup.subtree_control") == "+memory +pids +cpu");
      CHECK(f.get("gatebox/cgroup.subtree_control") == "+memory +pids +cpu");
      CHECK(cg->warnings().empty());
      cg->kill_all();
      CHECK(f.get(d / "cgroup.kill") == "1");
    }
    CHECK_FALSE(f.has(d));
    CHECK(f.has("gatebox"));  // shared by concurrent runs; stays
  }

  TEST_CASE("v2: a tiny cpu share still gets the kernel's minimum quota, no limit writes nothing") {
    FakeFs f;
    put_v2_run(f, "1-a");
    auto cg = create_cgroup("1-a", {.memory_bytes = 0, .pids = 0, .cpus = 0.001}, f.root);
    CHECK(f.get("gatebox/1-a/cpu.max") == "1000 100000");
    CHECK(f.get("gatebox/1-a/memory.max") == "");
    CHECK(f.get("gatebox/1-a/pids.max") == "max\n");
  }

  TEST_CASE("v2: a pids limit without the pids controller fails and leaves nothing") {
    FakeFs f;
    const std::string run = "4242-0a1c";
    put_v2_run(f, run, /*with_pids=*/false);
    try {
      create_cgroup(run, {.memory_bytes = 1 << 20, .pids = 8, .cpus = 0}, f.root);
      FAIL("create_cgroup did not throw");
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::internal);
      CHECK(std::string(e.what()).find("limits.pids") != std::string::npos);
      CHECK(std::string(e.what()).find("pids.max") != std::string::npos);
    }
    CHECK_FALSE(f.has(fs::path("gatebox") / run));
  }

  TEST_CASE("v2: a controller the parent does not offer is named in the error") {
    FakeFs f;
    put_v2_run(f, "7-b");
    f.put("cgroup.controllers", "cpu pids\n");
    fs::remove(f.root / "gatebox/7-b/memory.max");  // what the kernel shows without the controller
    try {
      create_cgroup("7-b", {.memory_bytes = 1 << 20, .pids = 8, .cpus = 0}, f.root);
      FAIL("create_cgroup did not throw");
    } catch (const Error& e) {
      const std::string what = e.what();
      CHECK(what.find("limits.memory") != std::string::npos);
      CHECK(what.find((f.root / "cgroup.controllers").string() + " does not list it") != std::string::npos);
    }
    CHECK(f.get("cgroup.subtree_control") == "+pids +cpu");
    CHECK_FALSE(f.has("gatebox/7-b"));
  }

  TEST_CASE("v2: no cpu controller is a warning, not an error") {
    FakeFs f;
    put_v2_run(f, "7-c", true, /*with_cpu=*/false);
    auto cg = create_cgroup("7-c", {.memory_bytes = 1 << 20, .pids = 8, .cpus = 2}, f.root);
    REQUIRE(cg->warnings().size() == 1);
    CHECK(cg->warnings()[0].find("limits.cpus") != std::string::npos);
    CHECK(f.get("gatebox/7-c/pids.max") == "8");
  }

  TEST_CASE("v2: OOM and usage are read from the kernel's counters") {
    FakeFs f;
    put_v2_run(f, "9-d");
    auto cg = create_cgroup("9-d", {}, f.root);
    f.put("gatebox/9-d/memory.events", "low 0\nhigh 0\nmax 12\noom 1\noom_kill 0\n");
    CHECK_FALSE(cg->oom_killed());
    f.put("gatebox/9-d/memory.events", "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n");
    CHECK(cg->oom_killed());
    f.put("gatebox/9-d/memory.events", "oom_kill 0\noom_group_kill 1\n");
    CHECK(cg->oom_killed());
    f.put("gatebox/9-d/cpu.stat", "usage_usec 1500999\nuser_usec 1200500\nsystem_usec 300499\nnr_periods 0\n");
    f.put("gatebox/9-d/memory.peak", "12345678\n");
    auto u = cg->usage();
    CHECK(u.cpu_user_ms == 1200);
    CHECK(u.cpu_system_ms == 300);
    CHECK(u.memory_peak_bytes == 12345678);
  }

  TEST_CASE("v2 without cgroup.kill: kill_all SIGKILLs every listed process") {
    FakeFs f;
    put_v2_run(f, "5-e");
    fs::remove(f.root / "gatebox/5-e/cgroup.kill");
    auto cg = create_cgroup("5-e", {}, f.root);
    pid_t child = sleeper();
    cg->add_process(child);
    CHECK(trim(f.get("gatebox/5-e/cgroup.procs")) == std::to_string(child));
    cg->kill_all();
    CHECK(wait_signal(child) == SIGKILL);
    CHECK(f.get("gatebox/5-e/cgroup.freeze") == "0");  // thawed again
    f.put("gatebox/5-e/cgroup.procs");  // what the kernel would show now
  }

  TEST_CASE("v1/hybrid: limits go to each controller, cpu,cpuacct is made once") {
    FakeFs f;
    put_v1_hierarchies(f);
    const std::string run = "4242-0b00";
    put_v1_run(f, run);
    const fs::path g = fs::path("gatebox") / run;
    {
      auto cg = create_cgroup(run, {.memory_bytes = 64ULL << 20, .pids = 16, .cpus = 0.5}, f.root);
      CHECK(cg->path() == (fs::canonical(f.root / "memory") / g).string());
      CHECK(f.get("memory" / g / "memory.limit_in_bytes") == "67108864");
      CHECK(f.get("memory" / g / "memory.memsw.limit_in_bytes") == "67108864");
      CHECK(f.get("pids" / g / "pids.max") == "16");
      CHECK(f.get("cpu,cpuacct" / g / "cpu.cfs_period_us") == "100000");
      CHECK(f.get("cpu,cpuacct" / g / "cpu.cfs_quota_us") == "50000");
      CHECK(cg->warnings().empty());

      pid_t child = sleeper();
      cg->add_process(child);
      for (const char* h : {"memory", "pids", "cpu,cpuacct"})
        CHECK(trim(f.get(h / g / "cgroup.procs")) == std::to_string(child));
      CHECK_FALSE(f.has("freezer" / g));  // one task migration fewer per run
      cg->kill_all();
      CHECK(wait_signal(child) == SIGKILL);
      for (const char* h : {"memory", "pids", "cpu,cpuacct"}) f.put(h / g / "cgroup.procs");
    }
    for (const char* h : {"memory", "pids", "cpu,cpuacct"}) CHECK_FALSE(f.has(h / g));
  }

  TEST_CASE("v1: OOM from memory.oom_control, usage from cpuacct and max_usage") {
    FakeFs f;
    put_v1_hierarchies(f);
    put_v1_run(f, "3-f");
    auto cg = create_cgroup("3-f", {}, f.root);
    const fs::path m = "memory/gatebox/3-f";
    f.put(m / "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
    f.put(m / "memory.failcnt", "7\n");  // hit the limit, reclaimed, nobody killed
    CHECK_FALSE(cg->oom_killed());
    f.put(m / "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
    CHECK(cg->oom_killed());
    // Before 4.13: no counter; the memory+swap limit being hit is the sign.
    f.put(m / "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\n");
    f.put(m / "memory.memsw.failcnt", "0\n");
    CHECK_FALSE(cg->oom_killed());
    f.put(m / "memory.memsw.failcnt", "1\n");
    CHECK(cg->oom_killed());

    const fs::path a = "cpu,cpuacct/gatebox/3-f";
    f.put(a / "cpuacct.usage_user", "2500000000\n");
    f.put(a / "cpuacct.usage_sys", "500999999\n");
    f.put(m / "memory.max_usage_in_bytes", "33554432\n");
    auto u = cg->usage();
    CHECK(u.cpu_user_ms == 2500);
    CHECK(u.cpu_system_ms == 500);
    CHECK(u.memory_peak_bytes == 33554432);

    fs::remove(f.root / a / "cpuacct.usage_user");
    const long hz = ::sysconf(_SC_CLK_TCK);
    f.put(a / "cpuacct.stat", fmt::format("user {}\nsystem {}\n", 3 * hz, hz / 2));
    u = cg->usage();
    CHECK(u.cpu_user_ms == 3000);
    CHECK(u.cpu_system_ms == 500);
  }

  TEST_CASE("v1: a failed write names the file and removes every directory made") {
    FakeFs f;
    put_v1_hierarchies(f);
    const std::string run = "4242-0c00";
    put_v1_run(f, run);
    const fs::path g = fs::path("gatebox") / run;
    fs::remove(f.root / "pids" / g / "pids.max");
    try {
      create_cgroup(run, {.memory_bytes = 1 << 20, .pids = 4, .cpus = 0}, f.root);
      FAIL("create_cgroup did not throw");
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::internal);
      CHECK(std::string(e.what()) ==
            fmt::format("write '4' to {}: No such file or directory", (fs::canonical(f.root / "pids") / g / "pids.max").string()));
    }
    for (const char* h : {"memory", "pids", "cpu,cpuacct"}) CHECK_FALSE(f.has(h / g));
  }

  TEST_CASE("v1: a pids limit with no pids hierarchy is refused") {
    FakeFs f;
    put_v1_hierarchies(f, /*with_pids=*/false);
    put_v1_run(f, "2-a");
    CHECK_THROWS_WITH_AS(create_cgroup("2-a", {.memory_bytes = 0, .pids = 4, .cpus = 0}, f.root),
                         doctest::Contains("no cgroup v1 pids controller"), Error);
    CHECK_FALSE(f.has("memory/gatebox/2-a"));
    // Without a pids limit the same host is fine.
    put_v1_run(f, "2-a");
    CHECK_NOTHROW(create_cgroup("2-a", {.memory_bytes = 1 << 20, .pids = 0, .cpus = 0}, f.root));
  }

  TEST_CASE("sweep removes runs whose gatebox is gone and keeps live and young ones") {
    FakeFs f;
    put_v1_hierarchies(f);
    const std::string stale = fmt::format("{}-dead", dead_pid());
    const std::string live = fmt::format("{}-live", ::getpid());
    for (const auto& run : {stale, live, std::string("handmade-young"), std::string("handmade-old")}) put_v1_run(f, run);
    // An hour old and empty: nobody's run by the contract, long abandoned.
    const auto old = fs::file_time_type::clock::now() - std::chrono::hours(1);
    for (const char* h : {"memory", "pids", "cpu,cpuacct"})
      fs::last_write_time(f.root / h / "gatebox/handmade-old", old);

    auto removed = sweep_cgroups(f.root);
    CHECK(removed.size() == 6);  // two runs in three hierarchies
    for (const char* h : {"memory", "pids", "cpu,cpuacct"}) {
      const fs::path g = fs::path(h) / "gatebox";
      CHECK_FALSE(f.has(g / stale));
      CHECK_FALSE(f.has(g / "handmade-old"));
      CHECK(f.has(g / live));
      CHECK(f.has(g / "handmade-young"));
    }
    bool named = false;
    for (const auto& line : removed) named |= line.find(stale) != std::string::npos;
    CHECK(named);
  }

  TEST_CASE("sweep kills what a dead gatebox left running") {
    FakeFs f;
    const std::string stale = fmt::format("{}-dead", dead_pid());
    put_v2_run(f, stale);
    fs::remove(f.root / "gatebox" / stale / "cgroup.kill");
    pid_t child = sleeper();
    f.put(fs::path("gatebox") / stale / "cgroup.procs", std::to_string(child) + "\n");
    // The fake list never empties, so the directory stays; the process must still die.
    sweep_cgroups(f.root);
    CHECK(wait_signal(child) == SIGKILL);
  }

  // On the real /sys/fs/cgroup: only as root on a host whose cgroups gatebox can use.
  TEST_CASE("real cgroup: limits land in the kernel, kill_all kills, nothing is left" * needs_real_cgroups) {
    const fs::path root = "/sys/fs/cgroup";
    // The host has usable cgroups (mountinfo says so): gatebox must find them.
    REQUIRE_MESSAGE(detect_cgroups(root).unusable_reason.empty(), detect_cgroups(root).unusable_reason);
    const auto host = detect_cgroups(root);
    const std::string run = run_id();
    std::vector<fs::path> dirs;
    {
      auto cg = create_cgroup(run, {.memory_bytes = 64ULL << 20, .pids = 16, .cpus = 0.5}, root);
      Gated child;
      cg->add_process(child.pid);
      if (host.layout == CgroupLayout::v2) {
        const fs::path d = root / "gatebox" / run;
        dirs = {d};
        CHECK(trim(read_text(d / "memory.max")) == "67108864");
        CHECK(trim(read_text(d / "pids.max")) == "16");
        CHECK(trim(read_text(d / "cpu.max")) == "50000 100000");
        CHECK(trim(read_text(d / "cgroup.procs")) == std::to_string(child.pid));
      } else {
        const fs::path g = fs::path("gatebox") / run;
        for (const char* h : {"memory", "pids", "cpu", "cpuacct", "freezer"})
          if (fs::exists(root / h / g)) dirs.push_back(root / h / g);
        CHECK(dirs.size() >= 2);
        CHECK(cg->path() == (root / "memory" / g).string());
        if (fs::exists(root / "cpu" / g / "cpu.cfs_quota_us"))
          CHECK(trim(read_text(root / "cpu" / g / "cpu.cfs_quota_us")) == "50000");
        CHECK(trim(read_text(root / "memory" / g / "memory.limit_in_bytes")) == "67108864");
        CHECK(trim(read_text(root / "pids" / g / "pids.max")) == "16");
        CHECK(trim(read_text(root / "memory" / g / "cgroup.procs")) == std::to_string(child.pid));
        CHECK(trim(read_text(root / "pids" / g / "cgroup.procs")) == std::to_string(child.pid));
      }
      for (const auto& d : dirs) CHECK(fs::is_directory(d));
      cg->kill_all();
      CHECK(child.wait() == SIGKILL);
      CHECK_FALSE(cg->oom_killed());
    }
    for (const auto& d : dirs) CHECK_FALSE(fs::exists(d));
  }

  TEST_CASE("real cgroup: a gate that touches 256 MiB under a 32 MiB limit is OOM-killed" * needs_real_cgroups) {
    const fs::path root = "/sys/fs/cgroup";
    // The host has usable cgroups (mountinfo says so): gatebox must find them.
    REQUIRE_MESSAGE(detect_cgroups(root).unusable_reason.empty(), detect_cgroups(root).unusable_reason);
    auto cg = create_cgroup(run_id(), {.memory_bytes = 32ULL << 20, .pids = 16, .cpus = 0}, root);
    Gated child([] {
      const std::size_t size = 256ULL << 20;
      auto* p = static_cast<volatile char*>(std::malloc(size));
      if (p == nullptr) ::_exit(2);
      for (std::size_t i = 0; i < size; i += 4096) p[i] = 1;
      ::_exit(0);
    });
    cg->add_process(child.pid);
    child.go();
    CHECK(child.wait() == SIGKILL);
    CHECK(cg->oom_killed());
    const auto usage = cg->usage();
    if (usage.memory_peak_bytes != 0) CHECK(usage.memory_peak_bytes <= (33ULL << 20));
  }

  TEST_CASE("real cgroup: a fork bomb stops at the pids limit and kill_all takes all of it" * needs_real_cgroups) {
    const fs::path root = "/sys/fs/cgroup";
    // The host has usable cgroups (mountinfo says so): gatebox must find them.
    REQUIRE_MESSAGE(detect_cgroups(root).unusable_reason.empty(), detect_cgroups(root).unusable_reason);
    const std::string run = run_id();
    auto cg = create_cgroup(run, {.memory_bytes = 64ULL << 20, .pids = 4, .cpus = 0}, root);
    int report[2];
    REQUIRE(::pipe2(report, O_CLOEXEC) == 0);
    static int report_fd = -1;
    report_fd = report[1];
    Gated child([] {
      unsigned char forked = 0;
      for (int i = 0; i < 10; ++i) {
        pid_t p = ::fork();
        if (p == 0) {
          ::pause();
          ::_exit(0);
        }
        if (p > 0) ++forked;
      }
      if (::write(report_fd, &forked, 1) != 1) ::_exit(4);
    });
    ::close(report[1]);
    cg->add_process(child.pid);
    child.go();
    unsigned char forked = 0;
    REQUIRE(::read(report[0], &forked, 1) == 1);
    ::close(report[0]);
    CHECK(forked == 3);  // four pids: the child and three of its ten forks
    cg->kill_all();
    CHECK(child.wait() == SIGKILL);
    const fs::path procs_dir = host_is_v2(root) ? root / "gatebox" / run : root / "pids" / "gatebox" / run;
    // The grandchildren were reparented away from us; they must be gone all the same.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (!trim(read_text(procs_dir / "cgroup.procs")).empty() && std::chrono::steady_clock::now() < deadline)
      ::usleep(5000);
    CHECK(trim(read_text(procs_dir / "cgroup.procs")).empty());
  }

  // The v2 code on a real cgroup2, where the host has one: a pure v2 host, or the controller-less
  // cgroup2 of a hybrid host (which then cannot take a memory limit, and must say so).
  TEST_CASE("real cgroup2: add, kill through the kernel, remove; a missing controller is an error" *
            doctest::skip(!real_cgroup2_mounted())) {
    const fs::path root = cgroup_mounts().v2_any;
    REQUIRE_MESSAGE(detect_cgroups(root).layout == CgroupLayout::v2, "gatebox does not see cgroup2 at " << root);
    const std::string run = run_id();
    const fs::path dir = root / "gatebox" / run;
    {
      auto cg = create_cgroup(run, {}, root);
      Gated child;
      cg->add_process(child.pid);
      CHECK(trim(read_text(dir / "cgroup.procs")) == std::to_string(child.pid));
      cg->kill_all();
      CHECK(child.wait() == SIGKILL);
    }
    CHECK_FALSE(fs::exists(dir));

    const bool has_memory = read_text(root / "cgroup.controllers").find("memory") != std::string::npos;
    if (!has_memory) {
      CHECK_THROWS_WITH_AS(create_cgroup(run, {.memory_bytes = 1 << 24, .pids = 0, .cpus = 0}, root),
                           doctest::Contains("cannot enforce limits.memory"), Error);
      CHECK_FALSE(fs::exists(dir));
    }
  }
}
