#include "evidence/bench_stats.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace gatebox {
namespace {

template <typename Field>
Summary summarize_field(const BenchResult& r, Field field) {
  std::vector<double> v;
  for (const BenchSample& s : r.samples) v.push_back(s.*field);
  return summarize(std::move(v));
}

nlohmann::json summary_json(const Summary& s) {
  // Milliseconds to 0.1, kibibytes whole: more digits are noise on a shared machine.
  return {{"median", std::round(s.median * 10) / 10}, {"p95", std::round(s.p95 * 10) / 10}};
}

bool measured(const BenchResult& r) { return r.available && r.reason.empty() && !r.samples.empty(); }

}  // namespace

Summary summarize(std::vector<double> values) {
  if (values.empty()) return {};
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  Summary s;
  s.median = n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  const auto rank = static_cast<std::size_t>(std::ceil(0.95 * static_cast<double>(n)));
  s.p95 = values[std::clamp<std::size_t>(rank, 1, n) - 1];
  return s;
}

double evaluations_per_minute(const BenchResult& r) {
  return r.parallel_elapsed_s > 0 ? r.parallel_runs * 60.0 / r.parallel_elapsed_s : 0;
}

nlohmann::json bench_json(const std::string& profile, int runs, int parallel, const std::vector<BenchResult>& results) {
  nlohmann::json stacks = nlohmann::json::array();
  for (const BenchResult& r : results) {
    nlohmann::json s = {{"stack", r.stack},
                        {"available", r.available},
                        {"reason", r.reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.reason)},
                        {"details", nlohmann::json::object()}};
    for (const auto& [key, value] : r.details) s["details"][key] = value;
    if (measured(r)) {
      s["runs"] = r.samples.size();
      s["failed_runs"] = r.failed_runs;
      s["start_ms"] = summary_json(summarize_field(r, &BenchSample::start_ms));
      s["wall_ms"] = summary_json(summarize_field(r, &BenchSample::wall_ms));
      s["cpu_ms"] = summary_json(summarize_field(r, &BenchSample::cpu_ms));
      s["max_rss_kib"] = summary_json(summarize_field(r, &BenchSample::max_rss_kib));
      s["parallel"] = r.parallel;
      s["parallel_runs"] = r.parallel_runs;
      s["parallel_elapsed_s"] = std::round(r.parallel_elapsed_s * 1000) / 1000;
      s["evaluations_per_minute"] = std::round(evaluations_per_minute(r) * 10) / 10;
    }
    stacks.push_back(std::move(s));
  }
  return {{"profile", profile}, {"runs", runs}, {"parallel", parallel}, {"stacks", stacks}};
}

std::string render_bench_table(const std::vector<BenchResult>& results) {
  std::string out = fmt::format("{:<12} {:>17} {:>17} {:>17} {:>19} {:>9}\n", "stack", "start ms (p95)",
                                "wall ms (p95)", "cpu ms (p95)", "peak MiB (p95)", "evals/min");
  std::string notes;
  for (const BenchResult& r : results) {
    if (!measured(r)) {
      out += fmt::format("{:<12} {}\n", r.stack, r.available ? "not measured (see below)" : "unavailable (see below)");
      notes += fmt::format("{}: {}\n", r.stack, r.reason);
      continue;
    }
    auto pair = [](const Summary& s, double scale) {
      return fmt::format("{:.1f} ({:.1f})", s.median / scale, s.p95 / scale);
    };
    out += fmt::format("{:<12} {:>17} {:>17} {:>17} {:>19} {:>9.1f}\n", r.stack,
                       pair(summarize_field(r, &BenchSample::start_ms), 1), pair(summarize_field(r, &BenchSample::wall_ms), 1),
                       pair(summarize_field(r, &BenchSample::cpu_ms), 1),
                       pair(summarize_field(r, &BenchSample::max_rss_kib), 1024), evaluations_per_minute(r));
    if (r.failed_runs > 0) {
      notes += fmt::format("{}: {} of the runs did not pass (exit status other than 0)\n", r.stack, r.failed_runs);
    }
  }
  if (!notes.empty()) out += "\n" + notes;
  std::string details;
  for (const BenchResult& r : results) {
    if (!measured(r) || r.details.empty()) continue;
    std::string line;
    for (const auto& [key, value] : r.details) line += fmt::format("{}{}: {}", line.empty() ? "" : "; ", key, value);
    details += fmt::format("{}: {}\n", r.stack, line);
  }
  if (!details.empty()) out += "\nhow each stack ran:\n" + details;
  return out;
}

}  // namespace gatebox
