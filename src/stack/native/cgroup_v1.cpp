// cgroup v1 (and the v1/v2 hybrid): one directory per hierarchy, <hierarchy>/gatebox/<run id>.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "stack/native/cgroup_detail.hpp"
#include "util/error.hpp"

namespace gatebox::cgroup_detail {

namespace {

class CgroupV1 final : public Cgroup {
 public:
  CgroupV1() = default;
  CgroupV1(const CgroupV1&) = delete;
  CgroupV1& operator=(const CgroupV1&) = delete;

  ~CgroupV1() override {
    if (created_.empty()) return;
    kill_all();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(2000);
    for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      wait_empty(*it, std::max(left, std::chrono::milliseconds(0)));
      remove_cgroup_dir(*it);  // on failure the start-up sweep retries; a destructor cannot report
    }
  }

  // One directory per hierarchy: cpu and cpuacct mounted together share one.
  void create(const std::string& run_id, const CgroupTree& tree) {
    for (auto ctrl : v1_controllers) {
      auto it = tree.v1.find(std::string(ctrl));
      if (it == tree.v1.end()) continue;
      fs::path dir = it->second / "gatebox" / run_id;
      const bool shares_cpu = dirs_.count("cpu") != 0 && dirs_["cpu"] == dir;
      if (ctrl == "cpuacct" && !shares_cpu) continue;
      if (std::find(created_.begin(), created_.end(), dir) == created_.end()) {
        make_dir(it->second / "gatebox");
        make_dir(dir);
        created_.push_back(dir);
      }
      dirs_[std::string(ctrl)] = dir;
    }
  }

  void apply(const CgroupLimits& limits, const fs::path& root) {
    std::error_code ec;
    if (limits.memory_bytes > 0) {
      const fs::path& dir = dirs_.at("memory");  // the layout is v1 only when memory is there
      const std::string bytes = std::to_string(limits.memory_bytes);
      // memsw (memory + swap) may never be below the memory limit, so memory goes first.
      write_file(dir / "memory.limit_in_bytes", bytes);
      if (fs::exists(dir / "memory.memsw.limit_in_bytes", ec)) {
        write_file(dir / "memory.memsw.limit_in_bytes", bytes);
      } else if (fs::exists(dir / "memory.swappiness", ec)) {
        // No swap accounting (swapaccount=0): keeping the gate out of swap is the next best.
        write_file(dir / "memory.swappiness", "0");
      }
    }
    if (limits.pids > 0) {
      if (!dirs_.count("pids"))
        throw make_error(ExitCode::internal, "cannot enforce limits.pids: no cgroup v1 pids controller is mounted under {}",
                         root.string());
      write_file(dirs_.at("pids") / "pids.max", std::to_string(limits.pids));
    }
    if (limits.cpus > 0) {
      if (!dirs_.count("cpu")) {
        warnings_.push_back(fmt::format("limits.cpus is not enforced: no cgroup v1 cpu controller is mounted under {}",
                                        root.string()));
      } else if (!fs::exists(dirs_.at("cpu") / "cpu.cfs_quota_us", ec)) {
        warnings_.push_back(fmt::format("limits.cpus is not enforced: {} is missing (kernel without CFS bandwidth control)",
                                        (dirs_.at("cpu") / "cpu.cfs_quota_us").string()));
      } else {
        write_file(dirs_.at("cpu") / "cpu.cfs_period_us", std::to_string(cpu_period_us));
        write_file(dirs_.at("cpu") / "cpu.cfs_quota_us", std::to_string(cpu_quota_us(limits.cpus)));
      }
    }
  }

  // Memory first, so that everything the process allocates from now on is charged to the run.
  void add_process(pid_t pid) override {
    for (const auto& dir : created_) write_file(dir / "cgroup.procs", std::to_string(pid));
  }

  void kill_all() noexcept override {
    if (created_.empty()) return;
    auto freezer = dirs_.find("freezer");
    if (freezer == dirs_.end()) {
      kill_listed(created_.front(), std::chrono::milliseconds(500));
      return;
    }
    // Frozen, the processes cannot fork while we list and kill them; the kills take effect
    // at the thaw.
    const fs::path& dir = freezer->second;
    // Freezing is costly (the kernel patches static keys on the first frozen cgroup): an
    // empty cgroup, the usual case once the sandbox's init has exited, needs none of it.
    try {
      if (read_pids(dir / "cgroup.procs").empty()) return;
    } catch (...) {
    }
    if (try_write(dir / "freezer.state", "FROZEN") == 0) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
      while (read_file(dir / "freezer.state").value_or("").rfind("FROZEN", 0) != 0 &&
             std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      try {
        for (pid_t pid : read_pids(dir / "cgroup.procs")) ::kill(pid, SIGKILL);
      } catch (...) {
        // Out of memory listing them: the loop below after the thaw still tries.
      }
      try_write(dir / "freezer.state", "THAWED");
    }
    kill_listed(dir, std::chrono::milliseconds(500));
  }

  bool oom_killed() const override {
    auto memory = dirs_.find("memory");
    if (memory == dirs_.end()) return false;
    auto control = read_keyed(memory->second / "memory.oom_control");
    if (auto it = control.find("oom_kill"); it != control.end()) return it->second > 0;
    // Before 4.13 there is no counter; hitting the memory+swap limit is the closest sign
    // (page cache alone can hit the memory-only one).
    std::error_code ec;
    fs::path failcnt = memory->second / "memory.memsw.failcnt";
    if (!fs::exists(failcnt, ec)) failcnt = memory->second / "memory.failcnt";
    return read_number(failcnt).value_or(0) > 0;
  }

  CgroupUsage usage() const override {
    CgroupUsage u;
    if (auto acct = dirs_.find("cpuacct"); acct != dirs_.end()) {
      auto user_ns = read_number(acct->second / "cpuacct.usage_user");
      auto sys_ns = read_number(acct->second / "cpuacct.usage_sys");
      if (user_ns && sys_ns) {
        u.cpu_user_ms = *user_ns / 1000000;
        u.cpu_system_ms = *sys_ns / 1000000;
      } else {
        // cpuacct.stat counts USER_HZ ticks.
        auto stat = read_keyed(acct->second / "cpuacct.stat");
        long hz = ::sysconf(_SC_CLK_TCK);
        if (hz <= 0) hz = 100;
        u.cpu_user_ms = stat["user"] * 1000 / static_cast<std::uint64_t>(hz);
        u.cpu_system_ms = stat["system"] * 1000 / static_cast<std::uint64_t>(hz);
      }
    }
    if (auto memory = dirs_.find("memory"); memory != dirs_.end())
      u.memory_peak_bytes = read_number(memory->second / "memory.max_usage_in_bytes").value_or(0);
    return u;
  }

  std::string path() const override {
    auto memory = dirs_.find("memory");
    return memory == dirs_.end() ? std::string() : memory->second.string();
  }
  std::vector<std::string> warnings() const override { return warnings_; }

 private:
  std::map<std::string, fs::path> dirs_;  // controller -> this run's directory
  std::vector<fs::path> created_;         // distinct directories, in creation order
  std::vector<std::string> warnings_;
};

}  // namespace

std::unique_ptr<Cgroup> create_v1(const std::string& run_id, const CgroupLimits& limits, const CgroupTree& tree) {
  auto cg = std::make_unique<CgroupV1>();
  // A throw from here on destroys cg, which removes every directory made so far.
  cg->create(run_id, tree);
  fs::path root = tree.v1.at("memory").parent_path();
  cg->apply(limits, root);
  return cg;
}

}  // namespace gatebox::cgroup_detail
