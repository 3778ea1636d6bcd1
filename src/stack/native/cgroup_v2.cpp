// cgroup v2: one directory, <root>/gatebox/<run id>, with every controller in it.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>

#include "stack/native/cgroup_detail.hpp"
#include "util/error.hpp"

namespace gatebox::cgroup_detail {

namespace {

constexpr std::string_view v2_controllers[] = {"memory", "pids", "cpu"};

bool host_has_swap() {
  auto swaps = read_file("/proc/swaps").value_or("");
  return std::count(swaps.begin(), swaps.end(), '\n') > 1;  // a header line, then one per device
}

void note(std::map<std::string, std::string>& notes, std::string_view ctrl, const std::string& why) {
  auto& text = notes[std::string(ctrl)];
  text += text.empty() ? why : "; " + why;
}

// Turns on memory/pids/cpu for the children of `dir`. Failures are only noted: a controller
// that is already on, or that the host lacks, is judged later by whether its files appear in
// the run's directory; the note then says why it is missing.
void enable_controllers(const fs::path& dir, std::map<std::string, std::string>& why_missing) {
  const fs::path control = dir / "cgroup.subtree_control";
  auto offered = read_file(dir / "cgroup.controllers").value_or("");
  std::string all;
  std::vector<std::string_view> wanted;
  for (auto c : v2_controllers) {
    bool listed = false;
    for (std::size_t pos = offered.find(c); pos != std::string::npos; pos = offered.find(c, pos + 1)) {
      bool starts = pos == 0 || std::isspace(static_cast<unsigned char>(offered[pos - 1]));
      std::size_t end = pos + c.size();
      bool ends = end == offered.size() || std::isspace(static_cast<unsigned char>(offered[end]));
      if (starts && ends) listed = true;
    }
    if (!listed) {
      note(why_missing, c, fmt::format("{} does not list it", (dir / "cgroup.controllers").string()));
      continue;
    }
    wanted.push_back(c);
    all += fmt::format("{}+{}", all.empty() ? "" : " ", c);
  }
  if (wanted.empty() || try_write(control, all) == 0) return;
  // One at a time, so that a controller the kernel refuses (EBUSY, ENOENT) does not keep
  // the others off.
  for (auto c : wanted)
    if (int err = try_write(control, fmt::format("+{}", c)))
      note(why_missing, c, fmt::format("write '+{}' to {}: {}", c, control.string(), std::strerror(err)));
}

class CgroupV2 final : public Cgroup {
 public:
  explicit CgroupV2(fs::path dir) : dir_(std::move(dir)) {}
  CgroupV2(const CgroupV2&) = delete;
  CgroupV2& operator=(const CgroupV2&) = delete;

  ~CgroupV2() override {
    if (!created_) return;
    kill_all();
    wait_empty(dir_, std::chrono::milliseconds(2000));
    remove_cgroup_dir(dir_);  // on failure the start-up sweep retries; a destructor cannot report
  }

  void create() {
    make_dir(dir_);
    created_ = true;
  }

  void apply(const CgroupLimits& limits, const std::map<std::string, std::string>& why_missing) {
    auto missing = [&](const char* ctrl, const char* file) {
      auto it = why_missing.find(ctrl);
      return fmt::format("the cgroup v2 {} controller is not enabled for {} (no {}{})", ctrl,
                         dir_.parent_path().string(), (dir_ / file).string(),
                         it == why_missing.end() ? "" : "; " + it->second);
    };
    std::error_code ec;
    if (limits.memory_bytes > 0) {
      if (!fs::exists(dir_ / "memory.max", ec))
        throw make_error(ExitCode::internal, "cannot enforce limits.memory: {}", missing("memory", "memory.max"));
      write_file(dir_ / "memory.max", std::to_string(limits.memory_bytes));
      if (fs::exists(dir_ / "memory.swap.max", ec))
        write_file(dir_ / "memory.swap.max", "0");
      else if (host_has_swap())
        warnings_.push_back("limits.memory: swap is not limited (no memory.swap.max; swap accounting is off)");
      // The gate is one unit: an OOM kills all of it rather than leaving a crippled half.
      if (fs::exists(dir_ / "memory.oom.group", ec)) write_file(dir_ / "memory.oom.group", "1");
    }
    if (limits.pids > 0) {
      if (!fs::exists(dir_ / "pids.max", ec))
        throw make_error(ExitCode::internal, "cannot enforce limits.pids: {}", missing("pids", "pids.max"));
      write_file(dir_ / "pids.max", std::to_string(limits.pids));
    }
    if (limits.cpus > 0) {
      if (fs::exists(dir_ / "cpu.max", ec))
        write_file(dir_ / "cpu.max", fmt::format("{} {}", cpu_quota_us(limits.cpus), cpu_period_us));
      else
        warnings_.push_back(fmt::format("limits.cpus is not enforced: {}", missing("cpu", "cpu.max")));
    }
  }

  void add_process(pid_t pid) override { write_file(dir_ / "cgroup.procs", std::to_string(pid)); }

  void kill_all() noexcept override {
    std::error_code ec;
    if (fs::exists(dir_ / "cgroup.kill", ec) && try_write(dir_ / "cgroup.kill", "1") == 0) return;
    // Before 5.14: freeze so nothing forks between listing and killing; SIGKILL still
    // reaches frozen tasks on v2.
    bool frozen = fs::exists(dir_ / "cgroup.freeze", ec) && try_write(dir_ / "cgroup.freeze", "1") == 0;
    kill_listed(dir_, std::chrono::milliseconds(500));
    if (frozen) try_write(dir_ / "cgroup.freeze", "0");
  }

  bool oom_killed() const override {
    auto events = read_keyed(dir_ / "memory.events");
    return events["oom_kill"] > 0 || events["oom_group_kill"] > 0;
  }

  CgroupUsage usage() const override {
    CgroupUsage u;
    auto stat = read_keyed(dir_ / "cpu.stat");
    u.cpu_user_ms = stat["user_usec"] / 1000;
    u.cpu_system_ms = stat["system_usec"] / 1000;
    u.memory_peak_bytes = read_number(dir_ / "memory.peak").value_or(0);
    return u;
  }

  std::string path() const override { return dir_.string(); }
  std::vector<std::string> warnings() const override { return warnings_; }

 private:
  fs::path dir_;
  bool created_ = false;
  std::vector<std::string> warnings_;
};

}  // namespace

std::unique_ptr<Cgroup> create_v2(const std::string& run_id, const CgroupLimits& limits, const fs::path& root) {
  std::map<std::string, std::string> why_missing;
  const fs::path parent = root / "gatebox";
  enable_controllers(root, why_missing);
  make_dir(parent);
  enable_controllers(parent, why_missing);
  auto cg = std::make_unique<CgroupV2>(parent / run_id);
  cg->create();
  cg->apply(limits, why_missing);  // a throw here destroys cg, which removes the directory
  return cg;
}

}  // namespace gatebox::cgroup_detail
