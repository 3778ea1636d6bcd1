#pragma once
// Resource limits for a native sandbox through cgroups: pure v2, or the v1/v2 hybrid that
// these hosts run (v1 controllers under /sys/fs/cgroup/<controller>). The filesystem root
// is injected so unit tests run against a fake cgroupfs in a temp dir.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gatebox {

struct CgroupLimits {
  std::uint64_t memory_bytes = 0;  // 0 = no limit; swap is limited to the same (no extra swap)
  std::uint64_t pids = 0;          // 0 = no limit
  double cpus = 0;                 // 0 = no limit; CPU bandwidth in cores
};

struct CgroupUsage {
  std::uint64_t cpu_user_ms = 0;
  std::uint64_t cpu_system_ms = 0;
  std::uint64_t memory_peak_bytes = 0;  // 0 when the kernel does not say
};

enum class CgroupLayout { v2, hybrid, v1, none };

// What the host offers, read from <root> (normally /sys/fs/cgroup) and /proc/self/cgroup.
struct CgroupHost {
  CgroupLayout layout = CgroupLayout::none;
  std::string description;  // "v2", "v1/v2 hybrid (memory, pids, cpu on v1)"
  std::string unusable_reason;  // non-empty when gatebox cannot create cgroups here (e.g. not root and not delegated)
};
CgroupHost detect_cgroups(const std::filesystem::path& root = "/sys/fs/cgroup");
// Same, with the text of /proc/self/mounts given. Cgroup mounts at or below <root> decide the
// layout (and where each v1 controller lives); with none there (a fake cgroupfs in a temp
// dir), the files under <root> decide.
CgroupHost detect_cgroups(const std::filesystem::path& root, std::string_view mounts_text);

// One sandbox's cgroup (one per controller on v1). Created under a "gatebox" parent
// directory, named by the run id; the destructor kills what is left in it and removes it.
//
// Run-id contract (what sweep_cgroups relies on): run ids look like "<pid>-<random hex>",
// where <pid> is the gatebox process that owns the run, in the pid namespace that sweeps.
// A cgroup whose owner pid no longer exists is stale. A name without that form is only
// swept when it is empty and older than a minute.
class Cgroup {
 public:
  virtual ~Cgroup() = default;
  // Moves a process (the sandbox's init, before it runs anything of the gate) in.
  virtual void add_process(pid_t pid) = 0;
  // Kills every process in the cgroup (cgroup.kill on v2 when present, else freeze + SIGKILL each).
  virtual void kill_all() noexcept = 0;
  // True if the kernel OOM-killed anything in this cgroup.
  virtual bool oom_killed() const = 0;
  virtual CgroupUsage usage() const = 0;
  // The directory (v2) or the memory controller's directory (v1), for messages.
  virtual std::string path() const = 0;
  // Limits that were asked for but cannot be enforced here (e.g. "cpus: ... no cpu
  // controller"), one sentence each, for the caller to log. Memory and pids never appear:
  // create_cgroup throws instead.
  virtual std::vector<std::string> warnings() const = 0;
};

// Throws Error(70) naming the file when a limit cannot be set, or when a memory or pids limit
// is asked for and that controller is not available. Nothing is left behind on failure.
std::unique_ptr<Cgroup> create_cgroup(const std::string& run_id, const CgroupLimits& limits,
                                      const std::filesystem::path& root = "/sys/fs/cgroup");

// Removes gatebox cgroups left by a SIGKILLed gatebox (see the run-id contract above): kills
// what still runs in a cgroup whose owner is gone, then removes it. Busy or live ones stay.
// Returns a line per cgroup removed.
std::vector<std::string> sweep_cgroups(const std::filesystem::path& root = "/sys/fs/cgroup");

}  // namespace gatebox
