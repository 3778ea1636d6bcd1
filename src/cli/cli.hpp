#pragma once
// The command line (docs/ARCHITECTURE.md §3.1): parses arguments, runs one command, turns
// every gatebox::Error into one message and its exit code. The only place that catches.
#include <string>
#include <vector>

#include "log/sink.hpp"
#include "profile/loader.hpp"

namespace gatebox {

int cli_main(int argc, char** argv);

// What `run` (and `bench`) take from the command line.
struct RunOptions {
  std::string profile;
  Overrides overrides;
  std::string report;     // --report FILE, "-" = stdout
  std::string log_format; // empty = prefixed on a terminal, plain otherwise
  std::string log_file;
  std::string cache_dir;  // empty = default
  bool dry_run = false;   // print the plan, start nothing
  bool seccomp_report = false;  // --seccomp-report: sets seccomp.report
};

// Each returns the process exit code.
int run_command(const RunOptions& options);
int validate_command(const std::vector<std::string>& profiles, bool print);
int stacks_command(bool json, const std::vector<std::string>& only);
// `export kubernetes`: the Job manifest `run` would submit; `push` sends the image first.
int export_command(const RunOptions& options, const std::string& format, bool push);
int cache_command(const std::string& action, const std::string& cache_dir, const std::string& older_than);

}  // namespace gatebox
