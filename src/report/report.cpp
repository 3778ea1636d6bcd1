// The report stage: the JSON report of docs/ARCHITECTURE.md §3.3 and the final verdict
// line. The report is what scripts read, so its field set and types are a promise: a field
// that does not apply is null, never missing.
#include "report/report.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "log/sink.hpp"
#include "policy/seccomp.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"

namespace gatebox {
namespace {

// Timings are measured in fractions of a millisecond; a tenth is all that means anything.
double tenth(double ms) { return std::round(ms * 10.0) / 10.0; }

// nlohmann::json keeps keys sorted; people read the report top-down, so it is written in
// the order of docs/ARCHITECTURE.md §3.3. Keys not listed here (none today) follow, sorted.
const std::vector<std::string>& top_order() {
  static const std::vector<std::string> order = {
      "gatebox", "gate",      "profile",     "stack",      "stack_reason", "verdict", "reason",
      "exit_code", "signal",  "timed_out",   "oom_killed", "interrupted",  "timing_ms", "usage",
      "output",  "rootfs",    "verdict_file", "seccomp", "vm"};
  return order;
}

const std::map<std::string, std::vector<std::string>>& nested_order() {
  static const std::map<std::string, std::vector<std::string>> order = {
      {"timing_ms", {"prepare", "checks", "start", "run", "teardown", "total"}},
      {"usage", {"cpu_user_ms", "cpu_system_ms", "max_rss_kib"}},
      {"output", {"stdout_bytes", "stderr_bytes", "truncated"}},
      {"rootfs", {"sha256", "cache"}},
      // The verdict file reads best with its own two keys first.
      {"verdict_file", {"verdict", "reason"}},
      {"seccomp", {"report", "denied", "why"}},
      {"vm", {"accel"}},
  };
  return order;
}

nlohmann::ordered_json in_order(const nlohmann::json& object, const std::vector<std::string>& order,
                                bool nested) {
  if (!object.is_object()) return object;
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& key : order) {
    auto it = object.find(key);
    if (it == object.end()) continue;
    auto sub = nested ? nested_order().find(key) : nested_order().end();
    out[key] = sub != nested_order().end() ? in_order(*it, sub->second, false) : nlohmann::ordered_json(*it);
  }
  for (const auto& [key, value] : object.items()) {
    if (!out.contains(key)) out[key] = value;
  }
  return out;
}

std::string render(const nlohmann::json& report) {
  // Strings from the host (a profile path in a legacy encoding) may not be UTF-8; replace
  // rather than fail to write the report at the very end of a run.
  return in_order(report, top_order(), true).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

[[noreturn]] void fail_write(const std::string& destination, std::string_view call, std::string_view what, int err) {
  if (what.empty()) {
    throw make_error(ExitCode::internal, "cannot write the report {}: {}: {}", destination, call, std::strerror(err));
  }
  throw make_error(ExitCode::internal, "cannot write the report {}: {} {}: {}", destination, call, what,
                   std::strerror(err));
}

// Cuts a long reason (a verdict file may give 60 KiB of it) for the one-line summary,
// without splitting a UTF-8 character. The report keeps it whole.
std::string shorten(std::string_view text, std::size_t limit = 300) {
  if (text.size() <= limit) return std::string(text);
  std::size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) --cut;
  return fmt::format("{}…", text.substr(0, cut));
}

}  // namespace

nlohmann::json make_report(const ReportInput& in) {
  const RunOutcome& o = in.outcome;
  nlohmann::json r = nlohmann::json::object();
  r["gatebox"] = GATEBOX_VERSION;
  r["gate"] = in.profile.name;
  r["profile"] = in.profile.file.string();
  r["stack"] = in.stack;
  if (!in.stack_reason.empty()) r["stack_reason"] = in.stack_reason;
  r["verdict"] = std::string(to_string(in.verdict.kind));
  r["reason"] = in.verdict.reason;
  r["exit_code"] = o.exit_code ? nlohmann::json(*o.exit_code) : nlohmann::json(nullptr);
  r["signal"] = o.signal ? nlohmann::json(*o.signal) : nlohmann::json(nullptr);
  r["timed_out"] = o.timed_out;
  r["oom_killed"] = o.oom_killed;
  r["interrupted"] = o.interrupted;
  r["timing_ms"] = {
      {"prepare", tenth(in.prepare_ms)},
      {"checks", tenth(in.checks_ms)},
      {"start", tenth(o.timings.start_ms)},
      {"run", tenth(o.timings.run_ms)},
      {"teardown", tenth(o.timings.teardown_ms)},
      {"total", tenth(in.total_ms)},
  };
  r["usage"] = {
      {"cpu_user_ms", o.usage.cpu_user_ms},
      {"cpu_system_ms", o.usage.cpu_system_ms},
      {"max_rss_kib", o.usage.max_rss_kib},
  };
  r["output"] = {
      {"stdout_bytes", in.output.stdout_bytes},
      {"stderr_bytes", in.output.stderr_bytes},
      {"truncated", in.output.truncated},
  };
  // A `dir` rootfs has no image and so no digest: null, not an empty string.
  r["rootfs"] = {
      {"sha256", in.rootfs_sha256.empty() ? nlohmann::json(nullptr) : nlohmann::json(in.rootfs_sha256)},
      {"cache", in.rootfs_cache_hit ? "hit" : "miss"},
  };
  r["verdict_file"] = in.verdict.file.is_object() ? in.verdict.file : nlohmann::json(nullptr);
  // denied: the calls the policy refused and how often, when the stack listened for them;
  // why: seccomp.report was asked for and the stack could not.
  nlohmann::json seccomp = {{"report", o.seccomp_reported}, {"denied", nullptr}, {"why", nullptr}};
  if (o.seccomp_reported) {
    seccomp["denied"] = nlohmann::json::object();
    for (const auto& [name, count] : o.seccomp_denied) seccomp["denied"][name] = count;
  } else if (in.profile.seccomp.report) {
    seccomp["why"] = in.seccomp_report_why.empty() ? std::string("the stack did not listen for denied calls")
                                                   : in.seccomp_report_why;
  }
  r["seccomp"] = seccomp;
  // The VM stacks: which accelerator held the guest (a TCG guest is not hardware isolation).
  r["vm"] = o.vm_accel.empty() ? nlohmann::json(nullptr) : nlohmann::json{{"accel", o.vm_accel}};
  return r;
}

void write_report(const std::string& destination, const nlohmann::json& report) {
  std::string text = render(report);
  if (destination == "-") {
    if (!write_fully(STDOUT_FILENO, text)) fail_write("to stdout", "write", "", errno);
    return;
  }

  // Temp file in the same directory, then rename: a reader sees the old report or the new
  // one, never half of one, even if gatebox is killed while writing.
  std::filesystem::path target(destination);
  if (target.filename().empty()) fail_write(destination, "open", destination, EISDIR);
  std::filesystem::path dir = target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
  std::string temp = (dir / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
  Fd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (!fd) fail_write(destination, "mkstemp", temp, errno);

  int err = 0;
  std::string_view call;
  // mkstemp creates 0600; a report is meant to be read by others, like any output file.
  if (::fchmod(fd.get(), 0644) != 0) {
    err = errno, call = "fchmod";
  } else if (!write_fully(fd.get(), text)) {
    err = errno, call = "write";
  } else if (::fsync(fd.get()) != 0) {
    err = errno, call = "fsync";
  } else if (::close(fd.release()) != 0) {
    err = errno, call = "close";
  } else if (::rename(temp.c_str(), destination.c_str()) != 0) {
    err = errno, call = "rename";
  }
  if (err != 0) {
    ::unlink(temp.c_str());
    fail_write(destination, call, call == "rename" ? destination : temp, err);
  }
}

std::string seccomp_denied_line(const std::map<std::string, std::uint64_t>& denied, const Profile::Seccomp& seccomp) {
  if (denied.empty()) return "seccomp denied no system calls";
  std::vector<std::pair<std::string, std::uint64_t>> by_count(denied.begin(), denied.end());
  std::stable_sort(by_count.begin(), by_count.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::vector<std::string> counted;
  for (const auto& [name, count] : by_count) counted.push_back(fmt::format("{} ×{}", name, count));
  std::string line = fmt::format("seccomp denied: {}", fmt::join(counted, ", "));

  // The allow list that would let them through: what the profile allows already, plus each
  // denied call that is a real x86_64 call and not in seccomp.deny (denied on purpose).
  std::vector<std::string> allow = seccomp.allow;
  for (const auto& [name, count] : denied) {
    const bool on_purpose = std::find(seccomp.deny.begin(), seccomp.deny.end(), name) != seccomp.deny.end();
    if (!on_purpose && x86_64_syscall_number(name) && std::find(allow.begin(), allow.end(), name) == allow.end()) {
      allow.push_back(name);
    }
  }
  if (allow.size() == seccomp.allow.size()) return line;
  std::vector<std::string> quoted;
  for (const std::string& name : allow) quoted.push_back(fmt::format("\"{}\"", name));
  return fmt::format("{} — to allow them: --set 'seccomp.allow=[{}]'", line, fmt::join(quoted, ","));
}

std::string verdict_line_detail(const ReportInput& in) {
  std::string where = in.stack_reason.empty()
                          ? fmt::format("({}, {:.2f}s)", in.stack, in.total_ms / 1000.0)
                          : fmt::format("({}, {}, {:.2f}s)", in.stack, in.stack_reason, in.total_ms / 1000.0);
  if (in.outcome.interrupted) {
    return fmt::format("interrupted by {} {}", signal_name(in.outcome.interrupt_signal), where);
  }
  return fmt::format("{} {}", shorten(in.verdict.reason), where);
}

std::string verdict_line(const ReportInput& in) {
  std::string_view word = in.outcome.interrupted ? "error" : to_string(in.verdict.kind);
  return fmt::format("{} — {}", word, verdict_line_detail(in));
}

}  // namespace gatebox
