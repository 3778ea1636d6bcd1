// `gatebox probe` and `gatebox bench`: they run gates like `run` does, many times, and
// print what they measured. Unavailable stacks are results, not errors.
#include "cli/evidence_commands.hpp"
#include "route/route_host.hpp"

#include <unistd.h>

#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "evidence/bench_run.hpp"
#include "evidence/probe_matrix.hpp"
#include "evidence/probe_run.hpp"
#include "log/console.hpp"
#include "log/sink.hpp"
#include "rootfs/rootfs.hpp"
#include "stack/stack.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"

namespace gatebox {
namespace {

// Every stack when none was named; the named ones in the order given, once each.
std::vector<std::string> selected_stacks(const std::vector<std::string>& requested) {
  std::vector<std::string> out;
  if (requested.empty()) {
    for (std::string_view n : stack_names()) out.emplace_back(n);
    return out;
  }
  for (const std::string& s : requested) {
    if (!make_stack(s)) {
      std::string known;
      for (std::string_view n : stack_names()) known += (known.empty() ? "" : ", ") + std::string(n);
      throw make_error(ExitCode::usage, "--stack: unknown stack '{}'; the stacks are {}", s, known);
    }
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  }
  return out;
}

// One line on stderr, rewritten in place, only on a terminal and without --quiet; cleared
// before the results are printed.
class ProgressLine {
 public:
  ProgressLine(std::string what, bool quiet) : what_(std::move(what)), on_(!quiet && ::isatty(STDERR_FILENO)) {}
  ~ProgressLine() {
    if (shown_) write_fully(STDERR_FILENO, "\r\033[K");
  }
  void show(const std::string& text) {
    if (!on_) return;
    write_fully(STDERR_FILENO, "\r\033[Kgatebox " + what_ + ": " + text);
    shown_ = true;
  }

 private:
  std::string what_;
  bool on_;
  bool shown_ = false;
};

}  // namespace

int probe_command(const ProbeOptions& options) {
  const std::vector<std::string> names = selected_stacks(options.stacks);
  const std::filesystem::path cache = options.cache_dir.empty() ? default_cache_dir() : std::filesystem::path(options.cache_dir);
  std::vector<ProbeColumn> columns;
  std::filesystem::path root;
  {
    ProgressLine progress("probe", options.quiet);
    for (const std::string& name : names) {
      std::unique_ptr<Stack> stack = make_stack(name);
      if (name == "kubernetes") {
        // Its nodes are not this host, and a run needs a registry the probe's profile
        // cannot name: the cluster's features come from its RuntimeClass, see `stacks`.
        columns.push_back(ProbeColumn{name, "", false,
                                      "not probed: the probe runs on this host's stacks; a cluster's features "
                                      "depend on its nodes and RuntimeClass",
                                      {}});
        continue;
      }
      const Availability a = stack->probe_host();
      if (!a.available) {
        columns.push_back(ProbeColumn{name, "", false, a.reason, {}});
        continue;
      }
      if (root.empty()) root = prepare_probe_root(cache, find_probe_binary());
      for (const std::string& line : stack->sweep(cache)) Console::get().detail("swept " + line);
      for (const char* policy : {"default", "unconfined"}) {
        check_interrupt();
        progress.show(fmt::format("{} under seccomp {}", name, policy));
        columns.push_back(run_probe_column(*stack, policy, root, cache));
        store_probe(cache, a, columns.back());  // what kind = "auto" reads
      }
    }
  }
  if (options.json) {
    std::cout << probe_matrix_json(columns).dump(2) << "\n";
  } else {
    std::cout << render_probe_matrix(columns, MatrixStyle{locale_is_utf8()});
  }
  return 0;
}

int bench_command(const BenchCommandOptions& options) {
  if (options.runs < 1) throw Error(ExitCode::usage, "--runs: give at least 1");
  if (options.parallel < 1) throw Error(ExitCode::usage, "--parallel: give at least 1");
  const std::vector<std::string> names = selected_stacks(options.stacks);
  BenchOptions o{options.profile, names, options.runs, options.parallel, options.cache_dir};
  std::vector<BenchResult> results;
  {
    ProgressLine progress("bench", options.quiet);
    for (const std::string& name : names) {
      results.push_back(bench_stack(o, name, [&](const std::string& text) { progress.show(text); }));
    }
  }
  if (options.json) {
    std::cout << bench_json(options.profile, options.runs, options.parallel, results).dump(2) << "\n";
  } else {
    std::cout << fmt::format("{}: {} runs per stack (median and p95), then {} at a time for evaluations per minute\n\n",
                             options.profile, options.runs, options.parallel)
              << render_bench_table(results);
  }
  return 0;
}

}  // namespace gatebox
