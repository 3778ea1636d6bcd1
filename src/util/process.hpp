#pragma once
// Runs are named "<pid>-<hex>" after the gatebox process that owns them, so that a sweep
// can tell a live run from one that a SIGKILLed gatebox left behind.
#include <sys/types.h>

#include <string>

namespace gatebox {

// A new run id for this process.
std::string make_run_id();
// True while a process with this pid exists (ours or not). A reused pid keeps a stale
// run's leftovers until a later sweep, which is harmless.
bool process_alive(pid_t pid);

}  // namespace gatebox
