// The verdict stage: turns what happened into pass | fail | error, following the profile's
// [verdict] rules (docs/ARCHITECTURE.md §1.8). "error" means the evaluation could not be
// made; it is never used for something the gate's own processes did unless the profile asks
// for it.
#include "verdict/verdict.hpp"

#include <algorithm>
#include <csignal>
#include <cstring>

#include <fmt/format.h>

#include "log/sink.hpp"
#include "util/units.hpp"

namespace gatebox {
namespace {

constexpr std::size_t max_verdict_file = 64 * 1024;

bool contains(const std::vector<int>& codes, int code) {
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

std::optional<VerdictKind> parse_kind(std::string_view word) {
  if (word == "pass") return VerdictKind::pass;
  if (word == "fail") return VerdictKind::fail;
  if (word == "error") return VerdictKind::error;
  return std::nullopt;
}

// What kind of JSON value something is, for a message: never the value itself, which is
// the file's content (a verdict file is whatever the gate, or a kernel file it pointed
// at, holds: an error must not become a way to print it).
std::string kind_of(const nlohmann::json& value) {
  if (value.is_string()) return "a string";
  if (value.is_number()) return "a number";
  if (value.is_boolean()) return "a boolean";
  if (value.is_null()) return "null";
  if (value.is_array()) return "an array";
  return "an object";
}

// nlohmann's parse error without what it quotes of the input ("last read: '...'"): only
// "parse error at line L, column C" and the kind of problem, cut before any quoted text.
std::string parse_error_position(std::string_view what) {
  if (auto tag_end = what.find("] "); what.starts_with("[json.exception") && tag_end != std::string_view::npos) {
    what.remove_prefix(tag_end + 2);
  }
  if (auto colon = what.find(':'); colon != std::string_view::npos) what = what.substr(0, colon);
  return std::string(what);
}

// The verdict file decides, or is malformed (then: error, with why). The reason it gives
// is shown on gatebox's stderr, so it goes through make_printable like the gate's output.
Verdict from_verdict_file(const std::string& path, const std::string& text) {
  auto malformed = [&](std::string_view why) {
    return Verdict{VerdictKind::error, make_printable(fmt::format("malformed verdict file {}: {}", path, why)), nullptr};
  };
  if (text.starts_with(kUnsafeVerdictFile)) {
    // The stack's word, not the file's content.
    return malformed("it is not a regular file of at most 64 KiB that the gate itself can read");
  }
  if (text.size() > max_verdict_file) {
    return malformed(fmt::format("it is {} bytes; the limit is 64 KiB", text.size()));
  }
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return malformed("the file is empty");

  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return malformed(fmt::format("not JSON: {}", parse_error_position(e.what())));
  }

  constexpr std::string_view example = R"(write e.g. {"verdict": "pass", "reason": "all 12 checks passed"})";
  if (!doc.is_object()) return malformed(fmt::format("expected a JSON object, got {}; {}", doc.type_name(), example));
  auto verdict = doc.find("verdict");
  if (verdict == doc.end()) return malformed(fmt::format("it has no \"verdict\" key; {}", example));
  std::optional<VerdictKind> kind;
  if (verdict->is_string()) kind = parse_kind(verdict->get_ref<const std::string&>());
  if (!kind) {
    const std::string what = verdict->is_string() ? "another string" : kind_of(*verdict);
    return malformed(fmt::format(R"("verdict" is {}; it must be "pass", "fail" or "error")", what));
  }
  std::string reason;
  if (auto r = doc.find("reason"); r != doc.end()) {
    if (!r->is_string()) return malformed(fmt::format(R"("reason" is {}; it must be a string)", kind_of(*r)));
    reason = r->get<std::string>();
  }
  Verdict v;
  v.kind = *kind;
  v.reason = reason.empty() ? "verdict file (no reason given)" : make_printable("verdict file: " + reason);
  v.file = std::move(doc);
  return v;
}

}  // namespace

std::string signal_name(int sig) {
  if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
    return sig == SIGRTMIN ? "SIGRTMIN" : fmt::format("SIGRTMIN+{}", sig - SIGRTMIN);
  }
  if (const char* abbrev = sigabbrev_np(sig)) return fmt::format("SIG{}", abbrev);
  return fmt::format("signal {}", sig);
}

Verdict decide_verdict(const Profile& profile, const RunOutcome& outcome) {
  const auto& rules = profile.verdict;
  // gatebox itself was told to stop and killed the gate: nothing about the gate was judged.
  if (outcome.interrupted) {
    return {VerdictKind::error, fmt::format("interrupted by {}", signal_name(outcome.interrupt_signal)), nullptr};
  }
  if (outcome.stack_error) {
    return {VerdictKind::error, make_printable(fmt::format("stack failed: {}", *outcome.stack_error)), nullptr};
  }
  if (outcome.timed_out) {
    return {rules.on_timeout, fmt::format("timed out after {}", format_duration(profile.limits.timeout)), nullptr};
  }
  if (outcome.oom_killed) {
    return {rules.on_oom, fmt::format("out of memory (limit {})", format_size(profile.limits.memory)), nullptr};
  }
  if (outcome.signal) {
    int sig = *outcome.signal;
    std::string name = signal_name(sig);
    std::string reason = name.starts_with("signal ") ? fmt::format("killed by {}", name)
                                                     : fmt::format("killed by signal {} ({})", sig, name);
    return {rules.on_signal, std::move(reason), nullptr};
  }
  if (!rules.file.empty() && outcome.verdict_file) return from_verdict_file(rules.file, *outcome.verdict_file);

  if (!outcome.exit_code) return {VerdictKind::error, "the gate's exit status is unknown", nullptr};
  int code = *outcome.exit_code;
  std::string reason = fmt::format("exit code {}", code);
  if (contains(rules.pass, code)) return {VerdictKind::pass, std::move(reason), nullptr};
  if (contains(rules.error, code)) {
    if (outcome.exec_error) reason = *outcome.exec_error;
    return {VerdictKind::error, make_printable(reason), nullptr};
  }
  // An exec failure the profile does not map to error still deserves its explanation.
  if (outcome.exec_error) reason += fmt::format(" ({})", *outcome.exec_error);
  return {VerdictKind::fail, make_printable(reason), nullptr};
}

int verdict_exit_code(VerdictKind kind) {
  switch (kind) {
    case VerdictKind::pass: return 0;
    case VerdictKind::fail: return 1;
    case VerdictKind::error: return 2;
  }
  return 2;
}

}  // namespace gatebox
