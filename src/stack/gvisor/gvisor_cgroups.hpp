#pragma once
// The cgroups runsc makes for a run (linux.cgroupsPath = /gatebox/<run_id>): finding them in
// every hierarchy (v1 controllers, v2, or the hybrid of both), watching the memory one for
// OOM kills, and removing what a dead run left.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/cgroup_files.hpp"
#include "util/fd.hpp"

namespace gatebox {

struct CgroupMount {
  std::filesystem::path dir;
  bool v2 = false;
  bool memory = false;  // v1: the memory controller is mounted here; v2: it is enabled at the root
};

// The cgroup and cgroup2 mounts of a /proc/self/mountinfo text.
std::vector<CgroupMount> parse_cgroup_mounts(std::string_view mountinfo);
std::vector<CgroupMount> cgroup_mounts();

// Kills what is left in <mount>/<rel> of every hierarchy and removes the directory.
// Returns the directories removed.
std::vector<std::string> remove_cgroup_everywhere(const std::vector<CgroupMount>& mounts, const std::string& rel);

// Removes <mount>/gatebox/<pid>-* of every hierarchy whose gatebox process <pid> is gone.
std::vector<std::string> sweep_dead_gatebox_cgroups(const std::vector<CgroupMount>& mounts);

// Counts OOM kills in a run's memory cgroup while it exists. runsc removes the cgroup as
// soon as the sandbox is gone, so the counter must be read when the kernel says it moved:
// v2 memory.events raises POLLPRI; v1 signals an eventfd registered for memory.oom_control.
class OomWatch {
 public:
  // Nothing to watch (no memory cgroup) gives a watch whose fd() is -1.
  static OomWatch open(const std::vector<CgroupMount>& mounts, const std::string& rel);
  int fd() const { return fd_.get(); }
  short events() const { return v2_ ? POLLPRI_BITS : POLLIN_BITS; }
  // Call when fd() is ready, and once more at the end while the cgroup may still exist.
  void update();
  bool oom_killed() const { return oom_killed_; }

  static constexpr short POLLPRI_BITS = 0x002 | 0x008;  // POLLPRI | POLLERR
  static constexpr short POLLIN_BITS = 0x001;           // POLLIN

 private:
  bool v2_ = false;
  Fd fd_;          // v2: memory.events; v1: the eventfd
  Fd control_fd_;  // v1: memory.oom_control (kept open for the registration)
  std::string counter_path_;
  bool oom_killed_ = false;
};

}  // namespace gatebox
