#pragma once
// Internals shared by cgroup.cpp, cgroup_v1.cpp and cgroup_v2.cpp: where the hierarchies are,
// and small file helpers that turn cgroupfs failures into Errors naming the file.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/native/cgroup.hpp"
#include "util/fs.hpp"

namespace gatebox::cgroup_detail {

namespace fs = std::filesystem;

// The v1 controllers gatebox uses.
// Each separate v1 hierarchy costs a task migration (an RCU grace period, about a
// millisecond) at every start: only the ones that enforce a limit are used. The PID
// namespace already kills the sandbox as a whole, so the freezer is not needed, and CPU
// time comes from wait4's rusage; cpuacct is read only where it shares cpu's hierarchy.
inline constexpr std::string_view v1_controllers[] = {"memory", "pids", "cpu", "cpuacct"};

// Where things are: the v2 root, or the directory of each v1 controller's hierarchy
// (cpu and cpuacct map to the same directory when they are mounted together).
struct CgroupTree {
  CgroupLayout layout = CgroupLayout::none;
  fs::path v2_root;
  std::map<std::string, fs::path> v1;
};
CgroupTree scan_tree(const fs::path& root, std::string_view mounts_text);
std::string read_self_mounts();  // "" when unreadable

// Throws Error(70): "write '<value>' to <path>: <errno text>".
void write_file(const fs::path& path, std::string_view value);
// 0 or the errno of the failed open/write.
int try_write(const fs::path& path, std::string_view value);
// "key value" lines (memory.events, cpu.stat, cpuacct.stat, memory.oom_control).
std::map<std::string, std::uint64_t> read_keyed(const fs::path& path);
std::optional<std::uint64_t> read_number(const fs::path& path);
std::vector<pid_t> read_pids(const fs::path& procs);

// mkdir that tolerates an existing directory (run ids are unique, so an existing one is a
// fake cgroupfs prepared by a test or a leftover of this very run id). Throws Error(70).
void make_dir(const fs::path& path);
// rmdir. A real cgroupfs directory goes with rmdir alone; on any other filesystem (a fake
// cgroupfs of regular files) the files are removed first. Returns 0 or errno.
int remove_cgroup_dir(const fs::path& path);
// Polls <dir>/cgroup.procs until it lists nobody or `limit` passes.
bool wait_empty(const fs::path& dir, std::chrono::milliseconds limit);
// SIGKILLs every pid listed in <dir>/cgroup.procs, until it is empty or `limit` passes.
void kill_listed(const fs::path& dir, std::chrono::milliseconds limit) noexcept;

std::unique_ptr<Cgroup> create_v2(const std::string& run_id, const CgroupLimits& limits, const fs::path& root);
std::unique_ptr<Cgroup> create_v1(const std::string& run_id, const CgroupLimits& limits, const CgroupTree& tree);

inline constexpr std::uint64_t cpu_period_us = 100000;
// Quota for `cpus` cores per period; the kernel refuses less than 1 ms.
std::uint64_t cpu_quota_us(double cpus);

}  // namespace gatebox::cgroup_detail
