#pragma once
// The parent side of a gvisor run: one poll loop over the gate's pipes, runsc's pidfd, the
// runsc state directory (to see the gate start), the OOM watch and SIGINT/SIGTERM.
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

#include "stack/gvisor/gvisor_cgroups.hpp"
#include "stack/gvisor/runsc_process.hpp"
#include "stack/stack.hpp"

namespace gatebox {

struct RunscRunIo {
  int stdout_read;
  int stderr_read;
  std::filesystem::path state_dir;  // runsc --root: its "<id>_sandbox:<id>.state" says "running"
  std::filesystem::path log_file;   // runsc --log
};

// Kills the container through runsc and then runsc's process group; called once.
using KillContainer = std::function<void()>;

// Runs the loop to the end. Throws Error(70) (or 130/143 when interrupted) if runsc failed
// before the gate started, with the last lines runsc logged.
// `open_oom` is tried whenever runsc saves state, until the memory cgroup it made is watched.
RunOutcome supervise_runsc(RunscProcess& runsc, const RunscRunIo& io, const std::function<OomWatch()>& open_oom,
                           const RunRequest& request,
                           std::chrono::steady_clock::time_point t_begin, const KillContainer& kill_container);

// The last error runsc logged (its "msg"), or its last line; empty for an empty log.
std::string last_runsc_error(const std::string& log_text);
// "... failed to load /x: no such file or directory" -> "no such file or directory"; empty otherwise.
std::string exec_failure_reason(const std::string& runsc_error);

}  // namespace gatebox
