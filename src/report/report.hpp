#pragma once
// The report stage: the JSON report (docs/ARCHITECTURE.md §3.3) and the final verdict line
// (§3.4).
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "log/sink.hpp"
#include "profile/profile.hpp"
#include "rootfs/rootfs.hpp"
#include "stack/stack.hpp"
#include "verdict/verdict.hpp"

namespace gatebox {

struct ReportInput {
  const Profile& profile;
  std::string stack;
  std::string stack_reason;        // why this stack (auto routing), may be empty
  const Verdict& verdict;
  const RunOutcome& outcome;
  const OutputStats& output;
  std::string rootfs_sha256;
  bool rootfs_cache_hit = false;
  double prepare_ms = 0;           // profile + rootfs + policy
  double total_ms = 0;
  std::string seccomp_report_why;  // seccomp.report was asked for, and why this stack could not
  double checks_ms = 0;            // the stack's probe and its sweep of what killed runs left
};

nlohmann::json make_report(const ReportInput& in);
// Writes atomically (temp file + rename); "-" writes to stdout. Throws Error(70).
void write_report(const std::string& destination, const nlohmann::json& report);
// "fail — exit code 2 (native, 0.82s)": the text after "gatebox: ".
std::string verdict_line(const ReportInput& in);
// The line after a seccomp.report run (after "gatebox: "): what was denied, how often, and
// the --set that would allow it: "seccomp denied: bpf ×2, perf_event_open ×1 — to allow them: ...".
std::string seccomp_denied_line(const std::map<std::string, std::uint64_t>& denied, const Profile::Seccomp& seccomp);
// The same without the verdict word: "exit code 2 (native, 0.82s)", for Console::verdict.
std::string verdict_line_detail(const ReportInput& in);

}  // namespace gatebox
