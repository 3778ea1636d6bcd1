// `gatebox run`: the pipeline of DESIGN.md §1, in order, once.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>

#include "cli/cli.hpp"
#include "log/console.hpp"
#include "policy/mounts.hpp"
#include "policy/seccomp.hpp"
#include "profile/loader.hpp"
#include "report/report.hpp"
#include "rootfs/rootfs.hpp"
#include "stack/stack.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"
#include "util/process.hpp"
#include "verdict/verdict.hpp"

namespace gatebox {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

LogFormat choose_log_format(const std::string& requested) {
  if (!requested.empty()) return parse_log_format(requested);
  return ::isatty(STDOUT_FILENO) ? LogFormat::prefixed : LogFormat::plain;
}

std::unique_ptr<Stack> select_stack(const Profile& profile) {
  if (profile.stack.kind == "auto") {
    throw Error(ExitCode::unavailable, "stack.kind = \"auto\": automatic routing is not built yet; name a stack");
  }
  std::unique_ptr<Stack> stack = make_stack(profile.stack.kind);
  if (!stack) throw make_error(ExitCode::usage, "unknown stack '{}'", profile.stack.kind);
  Availability avail = stack->probe_for(profile);
  if (!avail.available) {
    throw make_error(ExitCode::unavailable, "the {} stack is unavailable here: {} (see 'gatebox stacks')",
                     stack->name(), avail.reason);
  }
  return stack;
}

// A report for a run that never produced a verdict (set-up failure or interruption before start).
void write_setup_failure_report(const RunOptions& options, const Profile* profile, const Error& e) {
  if (options.report.empty()) return;
  nlohmann::json report = {
      {"gatebox", GATEBOX_VERSION},
      {"gate", profile ? nlohmann::json(profile->name) : nlohmann::json(nullptr)},
      {"profile", options.profile},
      {"stack", profile ? nlohmann::json(profile->stack.kind) : nlohmann::json(nullptr)},
      {"verdict", nullptr},
      {"reason", e.what()},
      {"exit_status", static_cast<int>(e.code())},
      {"interrupted", e.code() == ExitCode::sigint || e.code() == ExitCode::sigterm},
  };
  try {
    write_report(options.report, report);
  } catch (const Error& inner) {
    Console::get().error(inner.what());
  }
}

}  // namespace

int run_command(const RunOptions& options) {
  Console& console = Console::get();
  const Clock::time_point t0 = Clock::now();
  std::optional<Profile> profile;
  try {
    profile = load_profile(options.profile, options.overrides);
    std::unique_ptr<Stack> stack = select_stack(*profile);
    const std::filesystem::path cache_dir =
        options.cache_dir.empty() ? default_cache_dir() : std::filesystem::path(options.cache_dir);
    for (const std::string& line : stack->sweep(cache_dir)) console.detail("swept " + line);

    check_interrupt();
    RootfsTree rootfs = prepare_rootfs(*profile, cache_dir, [&](std::uint64_t done, std::uint64_t total) {
      console.progress("unpacking rootfs", done, total);
    });
    console.progress_done();
    console.detail(fmt::format("rootfs {} ({})", rootfs.dir.string(), rootfs.cache_hit ? "cache hit" : "unpacked"));
    const SeccompPolicy seccomp = resolve_seccomp(profile->seccomp);
    const std::vector<ResolvedMount> mounts = resolve_mounts(*profile);
    check_interrupt();
    const double prepare_ms = ms_since(t0);

    LogSink logs(LogSink::Options{choose_log_format(options.log_format), profile->limits.output, options.log_file,
                                  STDOUT_FILENO, STDERR_FILENO});
    RunRequest request{*profile, rootfs, seccomp, mounts, logs, cache_dir, make_run_id()};
    console.detail(fmt::format("starting {} sandbox {}", stack->name(), request.run_id));
    RunOutcome outcome = stack->run(request);
    logs.finish();

    const Verdict verdict = decide_verdict(*profile, outcome);  // an interruption is an error verdict there
    ReportInput in{*profile,       std::string(stack->name()), "",   verdict, outcome, logs.stats(),
                   rootfs.sha256,  rootfs.cache_hit,           prepare_ms, ms_since(t0)};
    if (logs.stats().truncated) {
      console.warn(fmt::format("output over limits.output ({}) was dropped", format_size(profile->limits.output)));
    }
    if (!options.report.empty()) write_report(options.report, make_report(in));
    console.verdict(to_string(verdict.kind), verdict_line(in));
    if (outcome.interrupted) {
      return static_cast<int>(outcome.interrupt_signal == SIGINT ? ExitCode::sigint : ExitCode::sigterm);
    }
    return verdict_exit_code(verdict.kind);
  } catch (const Error& e) {
    console.progress_done();
    write_setup_failure_report(options, profile ? &*profile : nullptr, e);
    throw;
  }
}

}  // namespace gatebox
