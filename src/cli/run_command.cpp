// `gatebox run`: the pipeline of docs/ARCHITECTURE.md §1, in order, once.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <csignal>

#include "cli/cli.hpp"
#include "log/console.hpp"
#include "policy/mounts.hpp"
#include "policy/operator_keys.hpp"
#include "policy/seccomp.hpp"
#include "policy/site_policy.hpp"
#include "profile/loader.hpp"
#include "report/report.hpp"
#include "rootfs/image_env.hpp"
#include "rootfs/rootfs.hpp"
#include "route/route_host.hpp"
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

struct StackChoice {
  std::unique_ptr<Stack> stack;
  std::string why;  // how "auto" chose it; empty for a named stack
  std::vector<std::pair<std::string, std::string>> rejected;
};

StackChoice select_stack(Profile& profile, const SitePolicy& policy, const std::filesystem::path& cache_dir,
                         bool dry_run) {
  StackChoice choice;
  if (profile.stack.kind == "auto") {
    std::vector<StackCandidate> candidates = gather_candidates(
        profile, policy, cache_dir, dry_run ? ProbeMode::run_nothing : ProbeMode::run_tools,
        [](const std::string& line) { Console::get().info(line); });
    RouteDecision d = route(profile, policy, candidates);
    profile.stack.kind = d.stack;
    choice.why = d.why;
    choice.rejected = std::move(d.rejected);
    for (const auto& [name, why] : choice.rejected) Console::get().detail(fmt::format("auto: not {}: {}", name, why));
  }
  choice.stack = make_stack(profile.stack.kind);
  if (!choice.stack) throw make_error(ExitCode::usage, "unknown stack '{}'", profile.stack.kind);
  // --dry-run runs nothing, not even a stack's tools to ask their version.
  Availability avail = choice.stack->probe_for(profile, dry_run ? ProbeMode::run_nothing : ProbeMode::run_tools);
  if (!avail.available && dry_run) {
    Console::get().warn(fmt::format("the {} stack is unavailable here: {}", choice.stack->name(), avail.reason));
  } else if (!avail.available) {
    throw make_error(ExitCode::unavailable, "the {} stack is unavailable here: {} (see 'gatebox stacks')",
                     choice.stack->name(), avail.reason);
  }
  return choice;
}

// Why `stack` cannot list the calls seccomp denied (seccomp.report).
std::string seccomp_report_unavailable(std::string_view stack) {
  if (stack == "native") return "native: this kernel lacks seccomp user notifications or pidfd_getfd (Linux 5.6)";
  if (stack == "docker") return "docker: the Engine API has no way to hand out a container's seccomp listener";
  if (stack == "gvisor") return "gvisor: runsc enforces the policy in its own kernel, with nothing to listen to";
  if (stack == "qemu" || stack == "firecracker") {
    return fmt::format("{}: the filter is installed inside the guest, out of the host's reach", stack);
  }
  return fmt::format("{}: the stack has no seccomp listener", stack);
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

// `--dry-run`: everything up to the sandbox, printed instead of started. The rootfs is not
// unpacked (paths show where it would be).
int print_dry_run(const Profile& profile, const StackChoice& choice, const SeccompPolicy& seccomp,
                  const std::vector<ResolvedMount>& mounts, const std::filesystem::path& cache_dir) {
  std::string out = "# gatebox run --dry-run: nothing was started\n\n# the resolved profile\n";
  out += profile_to_toml(profile);
  out += fmt::format("\n# stack: {}{}\n", choice.stack->name(), choice.why.empty() ? "" : " (" + choice.why + ")");
  for (const auto& [name, why] : choice.rejected) out += fmt::format("#   not {}: {}\n", name, why);
  out += "\n# mounts\n";
  if (mounts.empty()) out += "#   none\n";
  for (const ResolvedMount& m : mounts) {
    out += fmt::format("#   {} -> {} ({})\n", m.source, m.target, m.readonly ? "read-only" : "read-write");
  }
  out += fmt::format("\n# seccomp: {}, {} rules, denied calls get {}\n", seccomp.profile,
                     seccomp.unconfined ? 0 : seccomp.rules.size(), to_string(seccomp.action));

  RootfsTree rootfs;
  rootfs.sha256 = profile.rootfs.sha256;
  rootfs.dir = profile.rootfs.dir.empty() ? cache_dir / "rootfs" / (profile.rootfs.sha256.empty() ? std::string("<sha256 of the image>") : profile.rootfs.sha256) : profile.rootfs.dir;
  LogSink logs(LogSink::Options{LogFormat::plain, profile.limits.output, "", STDOUT_FILENO, STDERR_FILENO});
  const RunRequest request{profile, rootfs, seccomp, mounts, logs, cache_dir, "<run id>"};
  const std::string plan = choice.stack->describe(request);
  if (!plan.empty()) out += fmt::format("\n# what the {} stack would do\n{}\n", choice.stack->name(), plan);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace

int run_command(const RunOptions& options) {
  Console& console = Console::get();
  const Clock::time_point t0 = Clock::now();
  std::optional<Profile> profile;
  try {
    Overrides overrides = options.overrides;
    if (options.seccomp_report) overrides.set.emplace_back("seccomp.report=true");
    profile = load_profile(options.profile, overrides);
    const SitePolicy site_policy = load_site_policy();
    apply_site_defaults(site_policy, *profile);
    enforce_operator_keys(site_policy, *profile);  // before anything is probed, run or contacted
    const SeccompPolicy seccomp = resolve_seccomp(profile->seccomp);
    const std::vector<ResolvedMount> mounts = resolve_mounts(*profile);
    enforce_site_policy(site_policy, *profile, mounts);  // refused before anything starts
    const std::filesystem::path cache_dir =
        options.cache_dir.empty() ? default_cache_dir() : std::filesystem::path(options.cache_dir);
    const Clock::time_point t_probe = Clock::now();
    StackChoice choice = select_stack(*profile, site_policy, cache_dir, options.dry_run);
    const double probe_ms = ms_since(t_probe);
    std::unique_ptr<Stack>& stack = choice.stack;
    if (options.dry_run) return print_dry_run(*profile, choice, seccomp, mounts, cache_dir);
    std::string seccomp_report_why;
    if (profile->seccomp.report && !stack->supports_seccomp_report()) {
      seccomp_report_why = seccomp_report_unavailable(stack->name());
      console.warn(fmt::format("seccomp reports are available on the native stack only ({}); running without one",
                               seccomp_report_why));
    }

    check_interrupt();
    RootfsTree rootfs = prepare_rootfs(*profile, cache_dir, [&](std::uint64_t done, std::uint64_t total) {
      console.progress("unpacking rootfs", done, total);
    });
    console.progress_done();
    console.detail(fmt::format("rootfs {} ({})", rootfs.dir.string(), rootfs.cache_hit ? "cache hit" : "unpacked"));
    apply_image_environment(*profile, rootfs.dir);  // HOME from the image, the same on every stack
    check_mount_targets(mounts, rootfs.dir);         // the same refusal on every stack
    check_interrupt();
    // The stack's own checks, its probe above and its sweep of what killed runs left here,
    // are timed apart from preparing the profile and the rootfs: docker's are round trips
    // to its daemon.
    const double prepare_ms = ms_since(t0) - probe_ms;
    const Clock::time_point t_sweep = Clock::now();
    for (const std::string& line : stack->sweep(cache_dir)) console.detail("swept " + line);
    const double checks_ms = probe_ms + ms_since(t_sweep);

    // Each stream is judged on its own: with stdout redirected, stderr may still be a terminal.
    LogSink logs(LogSink::Options{choose_log_format(options.log_format), profile->limits.output, options.log_file,
                                  STDOUT_FILENO, STDERR_FILENO, ::isatty(STDOUT_FILENO) == 1,
                                  ::isatty(STDERR_FILENO) == 1});
    RunRequest request{*profile, rootfs, seccomp, mounts, logs, cache_dir, make_run_id()};
    console.detail(fmt::format("starting {} sandbox {}", stack->name(), request.run_id));
    RunOutcome outcome = stack->run(request);
    logs.finish();
    if (outcome.timings.start_ms > 0 && !outcome.stack_error) record_cold_start(cache_dir, stack->name(), outcome.timings.start_ms);

    const Verdict verdict = decide_verdict(*profile, outcome);  // an interruption is an error verdict there
    ReportInput in{*profile,       std::string(stack->name()), choice.why, verdict, outcome, logs.stats(),
                   rootfs.sha256,  rootfs.cache_hit,           prepare_ms, ms_since(t0), seccomp_report_why,
                   checks_ms};
    if (logs.stats().truncated) {
      console.warn(fmt::format("output over limits.output ({}) was dropped", format_size(profile->limits.output)));
    }
    if (!options.report.empty()) write_report(options.report, make_report(in));
    if (outcome.seccomp_reported) console.info(seccomp_denied_line(outcome.seccomp_denied, profile->seccomp));
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
