#pragma once
// Runs a short-lived helper program to completion and captures what it prints: for the
// programs gatebox asks for something (Docker's credential helpers), not for gates. (runsc has
// its own, gvisor/runsc_process.hpp: one that never throws, for use while tearing down.)
#include <string>
#include <string_view>
#include <vector>

namespace gatebox {

struct HelperResult {
  int exit_code = -1;  // -1: killed by a signal, or by the timeout
  bool timed_out = false;
  std::string out;  // stdout, at most 1 MiB
  std::string err;  // stderr, at most 64 KiB
};

// argv[0] is looked up in PATH. `input` is written to its stdin, which is then closed.
// The helper is killed after timeout_ms. Throws Error(69) when it cannot be started (not
// installed), Error(130/143) when gatebox is interrupted meanwhile.
HelperResult run_helper(const std::vector<std::string>& argv, std::string_view input, int timeout_ms);

}  // namespace gatebox
