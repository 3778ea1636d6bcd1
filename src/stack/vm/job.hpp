#pragma once
// What gatebox tells the guest agent (the job, a JSON file in the initramfs that the agent
// deletes before the gate starts) and what the agent tells gatebox at the end (the exit
// frame's JSON). Shared by the host side and the static agent in src/guest/, so it depends
// on nothing but nlohmann-json and the standard library.
#include <linux/filter.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stack/vm/frame.hpp"

namespace gatebox::vm {

// Where the agent and its job live in the initramfs; the agent removes the whole folder
// before the gate starts. The kernel is told `rdinit=` + kAgentPath.
inline constexpr std::string_view kAgentDir = "/.gatebox";
inline constexpr std::string_view kAgentPath = "/.gatebox/init";
inline constexpr std::string_view kJobPath = "/.gatebox/job.json";
// Bumped whenever the job, the frames or the agent's behaviour change: part of the cache
// key of the base initramfs.
inline constexpr std::string_view kAgentProtocol = "1";

struct JobMount {
  std::string target;   // absolute path in the guest; its contents were put there by the job cpio
  bool readonly = true; // the agent bind-remounts it read-only
};

struct Job {
  Secret secret{};
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;
  std::string cwd = "/";
  std::uint32_t uid = 65534;
  std::uint32_t gid = 65534;
  std::string hostname = "gatebox";
  bool root_readonly = false;
  bool loopback = false;                 // network.mode = "loopback": bring lo up
  std::uint64_t memory = 0;              // bytes; 0 = no limit (cgroup v2 memory.max in the guest)
  std::uint64_t pids = 0;                // 0 = no limit (pids.max)
  double cpus = 0;                       // 0 = no limit (cpu.max)
  std::uint64_t disk = 0;                // size of the /tmp tmpfs (and its inode budget)
  std::uint64_t open_files = 1024;       // RLIMIT_NOFILE
  std::uint64_t output = 0;              // bytes of stdout+stderr before the agent stops forwarding; 0 = no limit
  std::string verdict_file;              // absolute path in the guest, or empty
  std::vector<JobMount> mounts;
  std::vector<sock_filter> seccomp;      // compiled on the host (libseccomp); empty = unconfined
};

std::string job_to_json(const Job& job);
// Throws std::runtime_error with a one-line reason on anything malformed.
Job job_from_json(std::string_view text);

// The exit frame's payload.
struct ExitReport {
  std::optional<int> exit_code;
  std::optional<int> signal;
  bool oom_killed = false;
  bool output_truncated = false;
  std::optional<std::string> exec_error;  // argv[0] could not be executed (exit_code 126/127 too)
  std::uint64_t cpu_user_ms = 0;
  std::uint64_t cpu_system_ms = 0;
  std::uint64_t max_rss_kib = 0;
  double run_ms = 0;                      // measured in the guest: execve -> gate's end
};

std::string exit_report_to_json(const ExitReport& report);
ExitReport exit_report_from_json(std::string_view text);  // throws std::runtime_error

}  // namespace gatebox::vm
