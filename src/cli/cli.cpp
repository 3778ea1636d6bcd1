#include "cli/cli.hpp"
#include "cli/evidence_commands.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstring>
#include <iostream>

#include "log/console.hpp"
#include "stack/stack.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"

namespace gatebox {
namespace {

constexpr const char* kStackKinds = "native, docker, gvisor, qemu, firecracker, kubernetes, auto";

struct GlobalOptions {
  bool quiet = false;
  bool verbose = false;
  std::string color = "auto";
};

void add_global_flags(CLI::App& app, GlobalOptions& g) {
  app.add_flag("-q,--quiet", g.quiet, "Print only the final verdict line and errors");
  app.add_flag("-v,--verbose", g.verbose, "Print more of gatebox's own messages");
  app.add_option("--color", g.color, "Colour of gatebox's messages: auto, always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
}

void configure_console(const GlobalOptions& g) {
  ColorMode color = g.color == "always" ? ColorMode::always : g.color == "never" ? ColorMode::never : ColorMode::auto_;
  Verbosity verbosity = g.quiet ? Verbosity::quiet : g.verbose ? Verbosity::verbose : Verbosity::normal;
  Console::get().configure(color, verbosity);
}

void add_run_options(CLI::App& cmd, RunOptions& o) {
  cmd.add_option("PROFILE", o.profile, "The gate's profile (TOML)")->required();
  cmd.add_option("-s,--stack", o.overrides.stack, std::string("Override stack.kind: ") + kStackKinds);
  cmd.add_option("--set", o.overrides.set, "Override a profile key: KEY=VALUE, VALUE in TOML syntax (repeatable)");
  cmd.add_option("-m,--mount", o.overrides.mounts, "Add a bind mount SRC:DST[:ro|rw] (default ro; repeatable)");
  cmd.add_option("-e,--env", o.overrides.env, "Add or replace an environment variable NAME=VALUE (repeatable)");
  cmd.add_option("-t,--timeout", o.overrides.timeout, "Override limits.timeout (e.g. 30s, 5m)");
  cmd.add_option("--cache-dir", o.cache_dir, "The rootfs cache directory");
}

// Everything after the first "--" that follows `run` is the gate's argv, taken verbatim
// (CLI11 would otherwise try to read options in it).
std::vector<std::string> split_gate_argv(int& argc, char** argv) {
  std::vector<std::string> gate;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") != 0) continue;
    for (int j = i + 1; j < argc; ++j) gate.emplace_back(argv[j]);
    argc = i;
    break;
  }
  return gate;
}

}  // namespace

int cli_main(int argc, char** argv) {
  Console& console = Console::get();
  try {
    install_interrupt_handling();
    std::vector<std::string> gate_argv = split_gate_argv(argc, argv);

    CLI::App app{"gatebox: run one untrusted gate in a sandbox, once, and exit with its verdict", "gatebox"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("gatebox ") + GATEBOX_VERSION);
    GlobalOptions global;
    add_global_flags(app, global);

    RunOptions run;
    CLI::App* run_cmd = app.add_subcommand("run", "Run the gate once: gatebox run PROFILE [options] [-- ARGV...]");
    add_run_options(*run_cmd, run);
    run_cmd->add_option("--report", run.report, "Write the JSON report to FILE (- = stdout)");
    run_cmd->add_option("--log-format", run.log_format, "How the gate's output is shown: plain, prefixed, json")
        ->check(CLI::IsMember({"plain", "prefixed", "json"}));
    run_cmd->add_option("--log-file", run.log_file, "Also write every output line as JSON lines to FILE");
    run_cmd->add_flag("--seccomp-report", run.seccomp_report,
                      "List the system calls seccomp denied, with counts (sets seccomp.report; native stack)");
    run_cmd->add_flag("--dry-run", run.dry_run,
                      "Print the resolved profile, the stack and what it would start; start nothing");

    std::vector<std::string> validate_profiles;
    bool validate_print = false;
    CLI::App* validate_cmd = app.add_subcommand("validate", "Check profiles; --print shows the resolved profile");
    validate_cmd->add_option("PROFILE", validate_profiles, "Profiles to check")->required();
    validate_cmd->add_flag("--print", validate_print, "Print each resolved profile as TOML");

    bool stacks_json = false;
    std::vector<std::string> stacks_only;
    CLI::App* stacks_cmd = app.add_subcommand("stacks", "Which stacks work on this host, and why not");
    stacks_cmd->add_flag("--json", stacks_json, "Print JSON");
    const std::vector<std::string> known_stacks(stack_names().begin(), stack_names().end());
    stacks_cmd
        ->add_option("STACK", stacks_only,
                     "Only these stacks (default: every stack); then the exit status is 69 if one is unavailable")
        ->check(CLI::IsMember(known_stacks));

    ProbeOptions probe;
    CLI::App* probe_cmd = app.add_subcommand("probe", "Which kernel features a gate can use in each stack");
    probe_cmd->add_option("-s,--stack", probe.stacks, "Probe this stack (repeatable; default: every stack, see 'gatebox stacks')");
    probe_cmd->add_flag("--json", probe.json, "Print JSON");
    probe_cmd->add_option("--cache-dir", probe.cache_dir, "The rootfs cache directory");

    BenchCommandOptions bench;
    CLI::App* bench_cmd = app.add_subcommand("bench", "Measure a profile's cost per evaluation on each stack");
    bench_cmd->add_option("PROFILE", bench.profile, "The gate's profile (TOML)")->required();
    bench_cmd->add_option("-s,--stack", bench.stacks, "Measure this stack (repeatable; default: every stack)");
    bench_cmd->add_option("-n,--runs", bench.runs, "Measured runs per stack, one at a time (default 10)");
    bench_cmd->add_option("-p,--parallel", bench.parallel, "Runs at a time for evaluations per minute (default 1)");
    bench_cmd->add_flag("--json", bench.json, "Print JSON");
    bench_cmd->add_option("--cache-dir", bench.cache_dir, "The rootfs cache directory");

    RunOptions export_opts;
    std::string export_format;
    bool export_no_push = false;
    CLI::App* export_cmd = app.add_subcommand(
        "export",
        "Print what a stack would submit: gatebox export kubernetes PROFILE (the Job manifest), gatebox export "
        "seccomp PROFILE (the seccomp filter as an OCI profile, e.g. for the kubelet's Localhost profiles)");
    export_cmd->add_option("FORMAT", export_format, "kubernetes | seccomp")
        ->required()
        ->check(CLI::IsMember({"kubernetes", "seccomp"}));
    add_run_options(*export_cmd, export_opts);
    export_cmd->add_flag("--no-push", export_no_push,
                         "Do not push the rootfs image to stack.kubernetes.registry; only compute its digest");

    std::string cache_action, cache_dir, older_than = "720h";
    CLI::App* cache_cmd = app.add_subcommand("cache", "Manage the rootfs cache: list, prune, clear");
    cache_cmd->add_option("ACTION", cache_action, "list | prune | clear")
        ->required()
        ->check(CLI::IsMember({"list", "prune", "clear"}));
    cache_cmd->add_option("--cache-dir", cache_dir, "The cache directory");
    cache_cmd->add_option("--older-than", older_than, "prune: remove entries unused for this long (default 720h, 30 days)");

    CLI::App* help_cmd = app.add_subcommand("help", "Show help for a command: gatebox help COMMAND");
    std::string help_topic;
    help_cmd->add_option("COMMAND", help_topic, "The command");

    for (CLI::App* sub : {run_cmd, validate_cmd, stacks_cmd, probe_cmd, bench_cmd, export_cmd, cache_cmd}) {
      add_global_flags(*sub, global);
    }
    // A single-valued option given twice takes the last value, as in most Unix tools:
    // scripts append their own options after a user's.
    for (CLI::App* sub : {&app, run_cmd, validate_cmd, stacks_cmd, probe_cmd, bench_cmd, export_cmd, cache_cmd}) {
      for (CLI::Option* opt : sub->get_options()) {
        if (opt->get_expected_max() == 1 && opt->get_type_size() >= 1) opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
      }
    }

    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
      return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
      return app.exit(e);
    } catch (const CLI::ParseError& e) {
      throw make_error(ExitCode::usage, "{} (try 'gatebox --help')", e.what());
    }
    configure_console(global);

    if (!gate_argv.empty() && !run_cmd->parsed() && !export_cmd->parsed()) {
      throw Error(ExitCode::usage, "'-- ARGV' is only accepted by 'run' and 'export'");
    }
    // Whatever a command keeps on the side goes into the cache it was given.
    for (const std::string* dir : {&run.cache_dir, &probe.cache_dir, &bench.cache_dir, &export_opts.cache_dir, &cache_dir}) {
      choose_cache_dir(*dir);
    }
    if (run_cmd->parsed()) {
      run.overrides.argv = std::move(gate_argv);
      return run_command(run);
    }
    if (validate_cmd->parsed()) return validate_command(validate_profiles, validate_print);
    if (stacks_cmd->parsed()) return stacks_command(stacks_json, stacks_only);
    if (probe_cmd->parsed()) {
      probe.quiet = global.quiet;
      return probe_command(probe);
    }
    if (bench_cmd->parsed()) {
      bench.quiet = global.quiet;
      return bench_command(bench);
    }
    if (export_cmd->parsed()) {
      export_opts.overrides.argv = std::move(gate_argv);
      return export_command(export_opts, export_format, !export_no_push);
    }
    if (cache_cmd->parsed()) return cache_command(cache_action, cache_dir, older_than);
    if (help_cmd->parsed()) {
      if (help_topic.empty()) {
        std::cout << app.help();
        return 0;
      }
      for (CLI::App* sub : app.get_subcommands({})) {
        if (sub->get_name() == help_topic) {
          std::cout << sub->help();
          return 0;
        }
      }
      throw make_error(ExitCode::usage, "no command '{}'; the commands are run, validate, stacks, probe, bench, export, cache", help_topic);
    }
    return 0;
  } catch (const Error& e) {
    console.error(e.what());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    console.error(fmt::format("internal error: {}", e.what()));
    return static_cast<int>(ExitCode::internal);
  }
}

}  // namespace gatebox
