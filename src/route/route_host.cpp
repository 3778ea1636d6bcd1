#include "route/route_host.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "evidence/probe_run.hpp"
#include "util/fs.hpp"
#include "util/sha256.hpp"

namespace gatebox {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path evidence_dir(const fs::path& cache_dir) { return cache_dir / "evidence"; }

// Typical cold starts on a 2-vCPU VM without KVM (README, "Choosing a stack"), used until a
// stack has been measured here.
double typical_cold_start(std::string_view stack, const Availability& a) {
  bool kvm = false;
  for (const auto& [k, v] : a.details) kvm = kvm || (k == "accel" && v.rfind("kvm", 0) == 0);
  if (stack == "native") return 25;
  if (stack == "gvisor") return 400;
  if (stack == "docker") return 750;
  if (stack == "firecracker") return 150;
  if (stack == "qemu") return kvm ? 300 : 2000;
  return 5000;
}

// The stack's identity for caching: its details (versions, binaries, kernel) change when it is upgraded.
std::string version_key(const Availability& a) {
  std::string text;
  for (const auto& [k, v] : a.details) text += k + "=" + v + "\n";
  return sha256_hex(text).substr(0, 16);
}

fs::path probe_file(const fs::path& cache_dir, std::string_view stack, const Availability& a, const std::string& policy) {
  return evidence_dir(cache_dir) / fmt::format("probe-{}-{}-{}.json", stack, policy, version_key(a));
}

// Writes `text` to `file` through a temp file and a rename: readers never see half a file.
void write_atomically(const fs::path& file, const std::string& text) {
  make_dirs(file.parent_path());
  fs::path tmp = file;
  tmp += fmt::format(".tmp{}", ::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out.flush()) return;  // evidence is a cache: losing it costs a re-probe, never a run
  }
  std::error_code ec;
  fs::rename(tmp, file, ec);
  if (ec) fs::remove(tmp, ec);
}

std::string base_policy(const Profile& profile) {
  // The probe runs under default and unconfined; strict allows a subset of default, so a
  // feature default denies is denied by strict too (the converse need not hold).
  return profile.seccomp.profile == "unconfined" ? "unconfined" : "default";
}

std::string cell_text(const ProbeCell& c) {
  if (c.status == "works") return "works";
  return c.err.empty() ? c.status : fmt::format("{} ({})", c.status, c.err);
}

}  // namespace

std::optional<ProbeColumn> cached_probe(const fs::path& cache_dir, const Stack& stack, const Availability& a,
                                        const std::string& policy) {
  std::optional<std::string> text = read_file(probe_file(cache_dir, stack.name(), a, policy));
  if (!text) return std::nullopt;
  ProbeColumn column;
  column.stack = std::string(stack.name());
  column.policy = policy;
  if (parse_probe_output(*text, column)) return std::nullopt;
  column.ran = true;
  return column;
}

void store_probe(const fs::path& cache_dir, const Availability& a, const ProbeColumn& column) {
  if (!column.ran) return;
  json cells = json::object();
  for (const auto& [feature, c] : column.cells) {
    cells[feature] = {{"status", c.status}, {"errno", c.err}, {"detail", c.detail}};
  }
  write_atomically(probe_file(cache_dir, column.stack, a, column.policy), cells.dump(1));
}

void record_cold_start(const fs::path& cache_dir, std::string_view stack, double start_ms) {
  const fs::path file = evidence_dir(cache_dir) / fmt::format("cold-start-{}.json", stack);
  json samples = json::array();
  if (std::optional<std::string> text = read_file(file)) {
    samples = json::parse(*text, nullptr, false);
    if (!samples.is_array()) samples = json::array();
  }
  samples.push_back(start_ms);
  while (samples.size() > 16) samples.erase(samples.begin());
  write_atomically(file, samples.dump());
}

std::optional<double> measured_cold_start(const fs::path& cache_dir, std::string_view stack) {
  std::optional<std::string> text = read_file(evidence_dir(cache_dir) / fmt::format("cold-start-{}.json", stack));
  if (!text) return std::nullopt;
  json samples = json::parse(*text, nullptr, false);
  if (!samples.is_array() || samples.empty()) return std::nullopt;
  std::vector<double> v;
  for (const json& s : samples) {
    if (s.is_number()) v.push_back(s.get<double>());
  }
  if (v.empty()) return std::nullopt;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::vector<StackCandidate> gather_candidates(const Profile& profile, const SitePolicy& policy, const fs::path& cache_dir,
                                              ProbeMode mode,
                                              const std::function<void(const std::string&)>& progress) {
  const bool every_stack = mode == ProbeMode::run_nothing;
  std::vector<StackCandidate> out;
  const std::string seccomp = base_policy(profile);
  for (std::string_view name : stack_names()) {
    StackCandidate c;
    c.name = std::string(name);
    c.isolation = stack_isolation(name, profile);
    if (std::optional<double> ms = measured_cold_start(cache_dir, name)) {
      c.cold_start_ms = *ms;
      c.measured = true;
    } else {
      c.cold_start_ms = typical_cold_start(name, {});
    }
    out.push_back(std::move(c));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const StackCandidate& a, const StackCandidate& b) { return a.cold_start_ms < b.cold_start_ms; });
  const StackCandidate* winner = nullptr;
  for (StackCandidate& c : out) {
    if (winner != nullptr && !every_stack) {
      c.skipped = fmt::format("not asked: {} fits and starts faster", winner->name);
      continue;
    }
    if (!policy.stack_allowed(c.name) || c.name == "kubernetes") {
      c.availability = {false, "not considered", {}};
      continue;
    }
    std::unique_ptr<Stack> stack = make_stack(c.name);
    const std::string_view name = stack->name();
    c.availability = stack->probe_for(profile, mode);
    if (!c.measured) c.cold_start_ms = typical_cold_start(name, c.availability);
    if (c.availability.available && !profile.stack.requires_features.empty()) {
      std::optional<ProbeColumn> column = cached_probe(cache_dir, *stack, c.availability, seccomp);
      if (!column && mode == ProbeMode::run_nothing) {
        progress(fmt::format("--dry-run: the {} stack's features were never probed here; a run would probe them first "
                             "(or run `gatebox probe --stack {}`)", name, name));
      } else if (!column) {
        progress(fmt::format("probing the {} stack's features (once per stack version)", name));
        ProbeColumn fresh = run_probe_column(*stack, seccomp, prepare_probe_root(cache_dir, find_probe_binary()), cache_dir);
        store_probe(cache_dir, c.availability, fresh);
        if (fresh.ran) column = std::move(fresh);
      }
      if (column) {
        std::map<std::string, std::string> features;
        for (const auto& [feature, cell] : column->cells) features[feature] = cell_text(cell);
        c.features = std::move(features);
      }
    }
    if (winner == nullptr && fits(profile, policy, c)) winner = &c;
  }
  return out;
}

}  // namespace gatebox
