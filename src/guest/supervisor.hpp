#pragma once
// The agent's loop while the gate runs: forwards its output as frames as soon as it is
// read, reaps every process (the agent is PID 1: orphans come to it), and at the gate's end
// kills what is left, collects the usage figures and the verdict file.
#include <optional>
#include <string>

#include "guest/frame_writer.hpp"
#include "guest/gate.hpp"
#include "guest/system.hpp"
#include "stack/vm/job.hpp"

namespace gatebox::guest {

// Runs the gate to its end and returns the exit report. Sends `started` when the gate's
// process reports that execve is next, then `out`/`err` frames. Throws SetupError when
// the gate's process fails before that point.
vm::ExitReport supervise(const vm::Job& job, const GateProcess& gate, const GateCgroup& cgroup, FrameWriter& frames);

// The verdict file as the gate left it: nullopt if absent; the placeholder text the other
// stacks use when it is a symlink, not a regular file, or longer than 64 KiB.
std::optional<std::string> read_verdict_file(const std::string& path);

}  // namespace gatebox::guest
