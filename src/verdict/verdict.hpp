#pragma once
// The verdict stage: what happened (RunOutcome) + the profile's rules -> pass | fail | error
// and a reason a person can read (docs/ARCHITECTURE.md §1.8).
#include <string>

#include <nlohmann/json.hpp>

#include "profile/profile.hpp"
#include "stack/stack.hpp"

namespace gatebox {

struct Verdict {
  VerdictKind kind = VerdictKind::error;
  std::string reason;             // "exit code 2", "timed out after 5s", "verdict file: lint clean"
  nlohmann::json file = nullptr;  // the parsed verdict file, when it decided (all its keys)
};

// Precedence: stack error > timeout > OOM > signal > verdict file > exit code.
Verdict decide_verdict(const Profile& profile, const RunOutcome& outcome);

// The exit code of a verdict (0, 1, 2).
int verdict_exit_code(VerdictKind kind);

// "SIGKILL", "SIGRTMIN+3"; "signal 99" for a number with no name.
std::string signal_name(int sig);

}  // namespace gatebox
