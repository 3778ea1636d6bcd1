#include "evidence/bench_run.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "policy/operator_keys.hpp"
#include "profile/loader.hpp"
#include "rootfs/rootfs.hpp"
#include "stack/stack.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"
#include "util/interrupt.hpp"

namespace gatebox {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Child {
  pid_t pid = -1;
  std::shared_ptr<Fd> pidfd;  // to wait for it and for SIGINT/SIGTERM at once
  Clock::time_point started;
  fs::path report;
  fs::path err;
};

// Kills and reaps every run still going when the bench stops early (an exception).
class Children {
 public:
  ~Children() {
    for (auto& [pid, child] : running) {
      ::kill(pid, SIGTERM);
      int st;
      ::waitpid(pid, &st, 0);
    }
  }
  std::map<pid_t, Child> running;
};

Child start_run(const BenchOptions& o, const std::string& stack, const fs::path& dir, int index) {
  Child c;
  c.report = dir / fmt::format("report-{}.json", index);
  c.err = dir / fmt::format("stderr-{}.txt", index);
  std::vector<std::string> args = {"gatebox",   "run",    o.profile,          "--stack",    stack,   "--quiet",
                                   "--report", c.report.string(), "--log-format", "plain"};
  if (!o.cache_dir.empty()) {
    args.push_back("--cache-dir");
    args.push_back(o.cache_dir);
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  c.started = Clock::now();
  c.pid = ::fork();
  if (c.pid < 0) throw sys_error("fork", "gatebox run", errno);
  if (c.pid == 0) {
    const int in = ::open("/dev/null", O_RDONLY);
    const int out = ::open("/dev/null", O_WRONLY);
    const int err = ::open(c.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0) ::_exit(70);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    restore_signals_in_child();
    ::execv("/proc/self/exe", argv.data());
    ::_exit(127);
  }
  c.pidfd = std::make_shared<Fd>(static_cast<int>(::syscall(SYS_pidfd_open, c.pid, 0)));
  return c;
}

std::string last_line_of(const fs::path& file) {
  std::string text = read_file(file).value_or("");
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  const std::size_t nl = text.rfind('\n');
  text = nl == std::string::npos ? text : text.substr(nl + 1);
  return text.empty() ? "no message" : text;
}

struct Finished {
  BenchSample sample;
  std::string message;  // gatebox's last stderr line, for a run that did not pass
};

// Sleeps until a child exits or SIGINT/SIGTERM arrives: the wall time of a run must not
// include a polling interval.
void wait_for_event(const Children& children) {
  std::vector<pollfd> fds;
  for (const auto& [pid, child] : children.running) {
    if (child.pidfd && child.pidfd->valid()) fds.push_back({child.pidfd->get(), POLLIN, 0});
  }
  if (fds.size() != children.running.size()) {  // no pidfd (kernel < 5.3): short naps
    ::usleep(500);
    return;
  }
  if (interrupt_fd() >= 0) fds.push_back({interrupt_fd(), POLLIN, 0});
  ::poll(fds.data(), fds.size(), 1000);
}

// Waits for any of the running children.
Finished wait_any(Children& children) {
  for (;;) {
    int status = 0;
    struct rusage ru{};
    const pid_t pid = ::wait4(-1, &status, WNOHANG, &ru);
    if (pid < 0 && errno != EINTR) throw sys_error("wait4", "gatebox run", errno);
    auto it = pid > 0 ? children.running.find(pid) : children.running.end();
    if (it == children.running.end()) {
      check_interrupt();
      if (pid == 0) wait_for_event(children);
      continue;
    }
    const Child c = it->second;
    children.running.erase(it);
    Finished f;
    f.sample.wall_ms = std::chrono::duration<double, std::milli>(Clock::now() - c.started).count();
    f.sample.cpu_ms = ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 + ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
    f.sample.max_rss_kib = static_cast<double>(ru.ru_maxrss);
    f.sample.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    const nlohmann::json report = nlohmann::json::parse(read_file(c.report).value_or(""), nullptr, false);
    if (!report.is_discarded() && report.contains("timing_ms") && report["timing_ms"]["start"].is_number()) {
      f.sample.start_ms = report["timing_ms"]["start"].get<double>();
    }
    if (f.sample.exit_status != 0) f.message = last_line_of(c.err);
    return f;
  }
}

}  // namespace

BenchResult bench_stack(const BenchOptions& o, const std::string& stack_name, const BenchProgress& progress) {
  BenchResult r;
  r.stack = stack_name;
  r.parallel = o.parallel;
  std::unique_ptr<Stack> stack = make_stack(stack_name);
  if (!stack) throw make_error(ExitCode::usage, "--stack: unknown stack '{}'", stack_name);
  Overrides overrides;
  overrides.stack = stack_name;
  // A profile the stack cannot take (e.g. kubernetes without stack.kubernetes.registry, a
  // rw mount on a VM stack) makes that stack unavailable for this bench, not the bench fail.
  Profile profile;
  try {
    profile = load_profile(o.profile, overrides);
  } catch (const Error& e) {
    if (e.code() != ExitCode::bad_input) throw;
    r.reason = e.what();
    return r;
  }
  // Programs, kernels, endpoints are the operator's (policy/operator_keys.hpp): a profile that
  // names one is refused outright, before the probe below could run it.
  enforce_operator_keys(load_site_policy(), profile);
  const Availability a = stack->probe_for(profile, ProbeMode::run_tools);
  if (!a.available) {
    r.reason = a.reason;
    return r;
  }
  r.available = true;
  r.details = a.details;

  const fs::path cache = o.cache_dir.empty() ? default_cache_dir() : fs::path(o.cache_dir);
  TempDir dir(cache_tmp_dir(cache), fmt::format("bench-{}-", ::getpid()));
  Children children;
  int index = 0;

  progress(fmt::format("{} warm-up", stack_name));
  Child warm = start_run(o, stack_name, dir.path(), index++);
  children.running[warm.pid] = warm;
  Finished first = wait_any(children);
  // 0-2 are verdicts: the gate ran. Anything else means it never started.
  if (first.sample.exit_status > 2) {
    r.reason = fmt::format("the warm-up run exited with {}: {}", first.sample.exit_status, first.message);
    return r;
  }

  for (int i = 0; i < o.runs; ++i) {
    progress(fmt::format("{} run {}/{}", stack_name, i + 1, o.runs));
    Child c = start_run(o, stack_name, dir.path(), index++);
    children.running[c.pid] = c;
    Finished f = wait_any(children);
    if (f.sample.exit_status != 0) ++r.failed_runs;
    r.samples.push_back(f.sample);
  }

  const int total = std::max(o.runs, 2 * o.parallel);
  const Clock::time_point t0 = Clock::now();
  int started = 0, done = 0;
  while (done < total) {
    while (started < total && static_cast<int>(children.running.size()) < o.parallel) {
      Child c = start_run(o, stack_name, dir.path(), index++);
      children.running[c.pid] = c;
      ++started;
    }
    progress(fmt::format("{} {} at a time: {}/{}", stack_name, o.parallel, done, total));
    Finished f = wait_any(children);
    if (f.sample.exit_status != 0) ++r.failed_runs;
    ++done;
  }
  r.parallel_runs = total;
  r.parallel_elapsed_s = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

}  // namespace gatebox
