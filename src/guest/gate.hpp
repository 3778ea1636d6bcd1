#pragma once
// The gate's process: everything it needs is prepared before fork (no allocation and no
// exceptions between fork and execve, docs/ARCHITECTURE.md §4.3); a failure in the child
// becomes a fixed-size record on a close-on-exec pipe.
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "stack/vm/job.hpp"

namespace gatebox::guest {

enum class GateStage : std::int32_t {
  ready,        // set-up done: execve is next (not a failure)
  cgroup,
  stdio,
  credentials,
  rlimits,
  cwd,
  seccomp,
  exec,         // execve failed (the gate's failure, not the sandbox's)
};
const char* gate_stage_name(GateStage stage);

struct GateRecord {
  std::int32_t stage;
  std::int32_t err;
};

struct GatePlan {
  std::vector<std::string> argv_storage, env_storage, candidates;
  std::vector<char*> argv, envp;
  std::uint32_t uid = 65534, gid = 65534;
  std::string cwd = "/";
  std::uint64_t open_files = 1024;
  std::vector<sock_filter> seccomp;
  int cgroup_procs = -1;
  int cap_last_cap = 63;
};
GatePlan plan_gate(const vm::Job& job, int cgroup_procs);


struct GateProcess {
  pid_t pid = -1;
  int out = -1;    // read ends
  int err = -1;
  int setup = -1;  // GateRecords, then EOF at execve
};
// Forks the gate. Throws SetupError if the pipes or the fork fail.
GateProcess start_gate(const GatePlan& plan);

}  // namespace gatebox::guest
