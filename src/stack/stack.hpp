#pragma once
// The one interface every isolation stack implements (docs/ARCHITECTURE.md §4). A stack
// gets a fully resolved request and returns what happened, with no opinion about pass or
// fail.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "log/sink.hpp"
#include "policy/mounts.hpp"
#include "policy/seccomp.hpp"
#include "profile/profile.hpp"
#include "rootfs/rootfs.hpp"

namespace gatebox {

struct RunRequest {
  const Profile& profile;
  const RootfsTree& rootfs;
  const SeccompPolicy& seccomp;
  const std::vector<ResolvedMount>& mounts;
  LogSink& logs;
  std::filesystem::path cache_dir;  // stacks keep their own state below it (run dirs, images)
  std::string run_id;               // unique per run; names cgroups, containers, temp dirs
};

struct Timings {
  double start_ms = 0;     // cold start: begin sandbox -> gate's first instruction (as near as we can see)
  double run_ms = 0;       // gate started -> gate finished
  double teardown_ms = 0;  // gate finished -> everything removed
};

struct Usage {
  std::uint64_t cpu_user_ms = 0;
  std::uint64_t cpu_system_ms = 0;
  std::uint64_t max_rss_kib = 0;
};

// What a stack puts in RunOutcome::verdict_file, in place of the contents, when the file
// was there but is unsafe to read (not a regular file, a symlink, over 64 KiB, unreadable
// by the gate); the verdict stage reports it as such. A stack may append ": <detail>)".
inline constexpr std::string_view kUnsafeVerdictFile = "(not a regular file of at most 64 KiB";

struct RunOutcome {
  std::optional<int> exit_code;
  std::optional<int> signal;
  bool timed_out = false;
  bool oom_killed = false;
  bool interrupted = false;                  // SIGINT/SIGTERM reached gatebox; `interrupt_signal` says which
  int interrupt_signal = 0;
  std::optional<std::string> stack_error;    // the stack failed after the gate started (verdict error)
  std::optional<std::string> exec_error;     // argv[0] could not be executed (exit_code 126/127 is set too)
  std::optional<std::string> verdict_file;   // contents, when the gate wrote verdict.file
  Timings timings;
  Usage usage;
  bool seccomp_reported = false;                          // the stack listened for denied calls (seccomp.report)
  std::map<std::string, std::uint64_t> seccomp_denied;  // syscall name -> times denied
  std::string vm_accel;                                   // the VM stacks: "kvm" or "tcg"
};

struct Availability {
  bool available = false;
  std::string reason;                                          // one sentence when not available
  std::vector<std::pair<std::string, std::string>> details;    // e.g. {"cgroup", "v1/v2 hybrid"}
};

// Whether a probe may run the stack's own tools (`runsc flags`, `qemu-system-x86_64
// --version`). `gatebox run --dry-run` runs nothing: its probes say what they would run.
enum class ProbeMode { run_tools, run_nothing };

class Stack {
 public:
  virtual ~Stack() = default;
  virtual std::string_view name() const = 0;
  // Usable here? If not, why not, in one sentence. Must be quick and start nothing lasting.
  virtual Availability probe_host() const = 0;
  // The same for one profile, whose operator-chosen keys may point elsewhere
  // (stack.docker.host, stack.gvisor.runsc; policy/operator_keys.hpp has refused a profile's
  // own choice before this is asked). `gatebox run` asks this one.
  virtual Availability probe_for(const Profile& profile, ProbeMode mode) const {
    (void)profile;
    (void)mode;
    return probe_host();
  }
  // What run() would do with this request, for `gatebox run --dry-run`: the request,
  // bundle or command line the stack would use. Starts nothing, writes nothing.
  virtual std::string describe(const RunRequest& request) const {
    (void)request;
    return "";
  }
  // Can it list the calls seccomp denied (seccomp.report)? Quick; starts nothing.
  virtual bool supports_seccomp_report() const { return false; }
  // Runs the gate once. Throws Error(70) when the sandbox could not be set up (nothing is
  // left behind); everything after the gate started is reported in the outcome.
  virtual RunOutcome run(const RunRequest& request) = 0;
  // Removes what a SIGKILLed gatebox left of this stack (cgroups, run dirs, containers).
  // Returns a line per thing removed.
  virtual std::vector<std::string> sweep(const std::filesystem::path& cache_dir) { (void)cache_dir; return {}; }
  // After `gatebox cache prune|clear` removed entries of `cache_dir`: removes what the stack
  // keeps for them elsewhere (e.g. the docker stack's images). Returns a line per thing removed.
  virtual std::vector<std::string> clear_cache(const std::filesystem::path& cache_dir) { (void)cache_dir; return {}; }
};

// The registry: every stack by name, in the order `gatebox stacks` lists them.
const std::vector<std::string_view>& stack_names();
// nullptr for an unknown name.
std::unique_ptr<Stack> make_stack(std::string_view name);

}  // namespace gatebox
