#pragma once
// `gatebox bench`'s measurement: `gatebox run PROFILE --stack S` as child processes of
// this very binary (/proc/self/exe), so a sample costs what an evaluation costs, start-up
// of gatebox included.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "evidence/bench_stats.hpp"

namespace gatebox {

struct BenchOptions {
  std::string profile;
  std::vector<std::string> stacks;  // empty = every stack
  int runs = 10;
  int parallel = 1;
  std::string cache_dir;  // passed on to the runs; empty = their default
};

// Called with a short description of what is running ("docker 3/10").
using BenchProgress = std::function<void(const std::string&)>;

// One warm-up run (it also fills the caches), `runs` measured runs one at a time, then
// max(runs, 2 * parallel) runs with `parallel` at a time for the throughput. An
// unavailable stack comes back with its reason; a warm-up that cannot start the gate
// comes back with gatebox's message. SIGINT/SIGTERM stop it (throws).
BenchResult bench_stack(const BenchOptions& options, const std::string& stack, const BenchProgress& progress);

}  // namespace gatebox
