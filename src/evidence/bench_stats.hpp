#pragma once
// `gatebox bench`'s figures: per stack, samples of sequential runs summarised as median
// and p95, and the throughput of P runs at a time. Pure data and rendering (unit-tested).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gatebox {

struct Summary {
  double median = 0;
  double p95 = 0;
};

// Median (mean of the two middle values for an even count) and p95 by nearest rank
// (the ceil(0.95 n)-th smallest). Zeros for no values.
Summary summarize(std::vector<double> values);

struct BenchSample {
  double start_ms = 0;     // the report's timings.start_ms (the stack's cold start)
  double wall_ms = 0;      // around the whole `gatebox run` process
  double cpu_ms = 0;       // user + system of that process and everything it waited for
  double max_rss_kib = 0;  // the largest resident set among them (getrusage's ru_maxrss)
  int exit_status = 0;
};

struct BenchResult {
  std::string stack;
  bool available = false;
  std::string reason;  // why not available, or why the runs could not be measured
  std::vector<BenchSample> samples;
  int parallel = 1;
  int parallel_runs = 0;           // runs of the throughput phase
  double parallel_elapsed_s = 0;   // its wall time
  int failed_runs = 0;             // runs (both phases) whose exit status was not 0 (pass)
  // What the stack's probe says about how it runs here (e.g. docker's storage driver, the
  // VM's accelerator): the figures mean little without it.
  std::vector<std::pair<std::string, std::string>> details;
};

double evaluations_per_minute(const BenchResult& r);

// {"profile", "runs", "parallel", "stacks": [{"stack", "available", "reason", "details", "runs",
//   "failed_runs", "start_ms"|"wall_ms"|"cpu_ms"|"max_rss_kib": {"median", "p95"},
//   "parallel", "parallel_runs", "parallel_elapsed_s", "evaluations_per_minute"}]}
nlohmann::json bench_json(const std::string& profile, int runs, int parallel, const std::vector<BenchResult>& results);
std::string render_bench_table(const std::vector<BenchResult>& results);

}  // namespace gatebox
