#pragma once
// `gatebox probe` and `gatebox bench` (docs/ARCHITECTURE.md §3.5): the evidence for
// choosing a stack.
#include <string>
#include <vector>

namespace gatebox {

struct ProbeOptions {
  std::vector<std::string> stacks;  // empty = every stack
  bool json = false;
  bool quiet = false;  // no progress line
  std::string cache_dir;
};

struct BenchCommandOptions {
  std::string profile;
  std::vector<std::string> stacks;  // empty = every stack
  int runs = 10;
  int parallel = 1;
  bool json = false;
  bool quiet = false;  // no progress line
  std::string cache_dir;
};

// Each returns the process exit code: 0 also when some stacks are unavailable (they are
// part of the evidence); 64 for an unknown stack.
int probe_command(const ProbeOptions& options);
int bench_command(const BenchCommandOptions& options);

}  // namespace gatebox
