#include "stack/vm/vm_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <optional>

#include "log/console.hpp"
#include "stack/gvisor/runsc_process.hpp"
#include "stack/vm/guest_session.hpp"
#include "stack/vm/initramfs.hpp"
#include "stack/vm/kernel.hpp"
#include "stack/vm/vm_host.hpp"
#include "stack/timing.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"
#include "util/interrupt.hpp"
#include "util/process.hpp"

namespace gatebox::vm {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

Secret random_secret() {
  Secret s{};
  std::size_t got = 0;
  while (got < s.size()) {
    const ssize_t r = ::getrandom(s.data() + got, s.size() - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) throw sys_error("getrandom", "the run's secret");
    got += static_cast<std::size_t>(r);
  }
  return s;
}

// The run's private directory, removed on every path.
class RunDir {
 public:
  RunDir(const fs::path& cache_dir, const std::string& run_id) : dir_(vm_run_dir(cache_dir, run_id)) {
    make_dirs(dir_.parent_path(), 0700);
    if (::mkdir(dir_.c_str(), 0700) != 0) throw sys_error("mkdir", dir_.string());
  }
  ~RunDir() {
    try {
      remove_tree(dir_);
    } catch (const Error& e) {
      Console::get().warn(fmt::format("could not remove {}: {}", dir_.string(), e.what()));
    }
  }
  RunDir(const RunDir&) = delete;
  RunDir& operator=(const RunDir&) = delete;
  const fs::path& path() const { return dir_; }

 private:
  fs::path dir_;
};

// What the VMM wrote on stderr, its last 16 KiB: the reason when it fails.
void keep_tail(std::string& text, std::string_view bytes) {
  constexpr std::size_t kMax = 16 * 1024;
  text.append(bytes);
  if (text.size() > kMax) text.erase(0, text.size() - kMax);
}

std::string signal_name(int sig) { return sig == SIGINT ? "SIGINT" : "SIGTERM"; }

// A hard link of `kernel` at `link` (same file system: the cache's); `kernel` itself when it
// cannot be linked (a kernel outside the cache, on another file system); empty when it is
// gone (removed by `gatebox cache clear` since it was looked up).
fs::path link_kernel(const fs::path& kernel, const fs::path& link) {
  if (::link(kernel.c_str(), link.c_str()) == 0) return link;
  if (errno == ENOENT) return {};
  return kernel;
}

}  // namespace

fs::path vm_run_dir(const fs::path& cache_dir, const std::string& run_id) {
  return fs::absolute(cache_dir) / "vm" / "runs" / run_id;
}

// 20 s with KVM, 120 s under TCG (a loaded 2-core host boots in 2-10 s); the operator can
// set another bound with GATEBOX_VM_BOOT_TIMEOUT (whole seconds, 1-3600), e.g. for a very
// slow host. Not a profile key: a gate cannot lengthen the time it may hold a VM unstarted.
std::chrono::seconds boot_deadline(bool kvm) {
  if (const char* env = std::getenv("GATEBOX_VM_BOOT_TIMEOUT"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    errno = 0;
    const long secs = std::strtol(env, &end, 10);
    if (errno != 0 || end == env || *end != '\0' || secs < 1 || secs > 3600) {
      throw make_error(ExitCode::usage, "GATEBOX_VM_BOOT_TIMEOUT='{}': expected whole seconds from 1 to 3600, e.g. 300",
                       env);
    }
    return std::chrono::seconds(secs);
  }
  return std::chrono::seconds(kvm ? 20 : 120);
}

Job make_job(const RunRequest& request, const Secret& secret, std::vector<sock_filter> seccomp) {
  const Profile& p = request.profile;
  Job job;
  job.secret = secret;
  job.argv = p.run.argv;
  job.env = p.run.env;
  job.cwd = p.run.cwd;
  job.uid = p.run.uid;
  job.gid = p.run.gid;
  job.hostname = p.run.hostname;
  // The guest's root is its own RAM (the initramfs), writable like the other stacks' overlay.
  job.root_readonly = false;
  job.loopback = p.network.mode == NetworkMode::loopback;
  job.memory = p.limits.memory;
  job.pids = p.limits.pids;
  job.cpus = p.limits.cpus;
  job.disk = p.limits.disk;
  job.open_files = p.limits.open_files;
  // The host caps each stream at limits.output; the agent, which counts both together,
  // forwards enough for either stream to go over that cap, so the host still sees (and
  // reports) the truncation, and no more: every byte costs serial-port time.
  job.output = p.limits.output == 0 ? 0 : 2 * p.limits.output + 2;
  job.verdict_file = p.verdict.file;
  for (const ResolvedMount& m : request.mounts) job.mounts.push_back(JobMount{m.target, m.readonly});
  job.seccomp = std::move(seccomp);
  return job;
}

std::string describe_vm(const Vmm& vmm, const RunRequest& request) {
  const Profile& profile = request.profile;
  const KernelChoice kernel = find_kernel(vmm.configured_kernel(profile));
  VmSpec spec;
  TempDir scratch(fs::temp_directory_path(), "gatebox-dry-run-");
  spec.run_dir = scratch.path();
  spec.kernel = kernel.path;
  spec.initramfs = vm_run_dir(request.cache_dir, request.run_id) / "initramfs.cpio";
  spec.memory_mib = guest_memory_mib(profile.limits.memory, 0, 0);
  spec.vcpus = guest_vcpus(profile.limits.cpus);
  spec.kvm = kvm_status().usable;
  spec.cmdline = kernel_cmdline(host_tsc_khz(), vmm.reboot_method(), vmm.extra_cmdline());
  std::string binary;
  try {
    binary = vmm.binary(profile);
  } catch (const Error&) {
    binary = fmt::format("<{}: not installed>", vmm.name());
  }
  std::string out = fmt::format("kernel: {} (found by {}; booted as its ELF vmlinux, extracted once into {})\n",
                                kernel.path.string(), kernel.source, (request.cache_dir / "vm").string());
  if (const std::string pin = vmm.kernel_sha256(profile); !pin.empty()) {
    out += fmt::format("kernel pin: sha256 {} (the site policy's; checked before the VM starts)\n", pin);
  }
  out += fmt::format("initramfs: the cached tree + the agent (zstd cpio, cached) + a cpio with the job and {} mount(s)\n",
                     request.mounts.size());
  out += fmt::format("guest RAM: {} MiB at least (limits.memory + 128 MiB + twice the initramfs), {} vCPU(s), {}\n",
                     spec.memory_mib, spec.vcpus, spec.kvm ? "KVM" : "TCG (software emulation)");
  std::vector<std::string> argv = vmm.argv(binary, spec);
  out += fmt::format("{}", fmt::join(argv, " "));
  for (const auto& entry : fs::directory_iterator(scratch.path())) {
    if (std::optional<std::string> text = read_file(entry.path())) {
      out += fmt::format("\n{}:\n{}", entry.path().filename().string(), *text);
    }
  }
  return out;
}

RunOutcome run_vm(const Vmm& vmm, const RunRequest& request) {
  const Clock::time_point t_begin = Clock::now();
  const Profile& profile = request.profile;
  for (std::size_t i = 0; i < request.mounts.size(); ++i) {
    if (!request.mounts[i].readonly) {
      throw make_error(ExitCode::bad_input,
                       "stack {} cannot share a writable host directory; make mount {} ({}) read-only or use the native, docker or gvisor stack",
                       vmm.name(), i + 1, request.mounts[i].target);
    }
  }
  const std::string binary = vmm.binary(profile);
  const bool kvm = vmm.use_kvm(profile);
  // Read (and checked) before anything starts: a bad GATEBOX_VM_BOOT_TIMEOUT is a usage error.
  const std::chrono::seconds boot_bound = boot_deadline(kvm);
  const fs::path found_kernel = find_kernel(vmm.configured_kernel(profile)).path;
  if (const std::string pin = vmm.kernel_sha256(profile); !pin.empty()) check_kernel_pin(found_kernel, pin, request.cache_dir);
  fs::path kernel = elf_vmlinux(found_kernel, request.cache_dir);
  const fs::path agent = find_agent();
  fs::path base = base_initramfs(request.rootfs, agent, request.cache_dir);
  check_interrupt();

  std::vector<sock_filter> bpf;
  if (!request.seccomp.unconfined) bpf = compile_seccomp_bpf_cached(request.seccomp, request.cache_dir);
  const Secret secret = random_secret();
  const Job job = make_job(request, secret, std::move(bpf));

  std::optional<RunDir> run_dir;
  run_dir.emplace(request.cache_dir, request.run_id);
  VmSpec spec;
  spec.run_dir = run_dir->path();
  // The run boots from its own hard link of the kernel and its own copy of the initramfs,
  // so `gatebox cache prune|clear` may drop the cached ones at any time. Between their lookup
  // above and here it may already have: they are made again, once.
  spec.kernel = link_kernel(kernel, run_dir->path() / "vmlinux");
  if (spec.kernel.empty()) {
    kernel = elf_vmlinux(found_kernel, request.cache_dir);
    spec.kernel = link_kernel(kernel, run_dir->path() / "vmlinux");
    if (spec.kernel.empty()) throw sys_error("link", kernel.string(), ENOENT);
  }
  spec.initramfs = run_dir->path() / "initramfs.cpio";
  if (::access(base.c_str(), F_OK) != 0) base = base_initramfs(request.rootfs, agent, request.cache_dir);
  write_run_initramfs(base, job, request.mounts, spec.initramfs);
  struct stat st{};
  if (::stat(spec.initramfs.c_str(), &st) != 0) throw sys_error("stat", spec.initramfs.string());
  // The run's part (job, mounts) is not compressed: it unpacks to about its size.
  const auto run_bytes = static_cast<std::uint64_t>(st.st_size);
  struct stat base_st {};
  const std::uint64_t base_bytes = ::stat(base.c_str(), &base_st) == 0 ? static_cast<std::uint64_t>(base_st.st_size) : 0;
  const std::uint64_t tree_ram = base_initramfs_ram_bytes(base) + (run_bytes > base_bytes ? run_bytes - base_bytes : 0);
  spec.memory_mib = guest_memory_mib(profile.limits.memory, run_bytes, tree_ram);
  spec.vcpus = guest_vcpus(profile.limits.cpus);
  spec.kvm = kvm;
  spec.cmdline = kernel_cmdline(host_tsc_khz(), vmm.reboot_method(), vmm.extra_cmdline());
  std::vector<std::string> argv = vmm.argv(binary, spec);
  check_interrupt();

  Pipe console = make_pipe(O_NONBLOCK);
  Pipe vmm_err = make_pipe(O_NONBLOCK);
  RunOutcome outcome;
  outcome.vm_accel = kvm ? "kvm" : "tcg";
  GuestSession session(secret, request.logs);
  std::string vmm_stderr;
  int status = 0;
  bool exited = false, killed = false, boot_timed_out = false;
  Clock::time_point t_started{}, t_gate_end{};
  {
    // The VMM runs in its own process group, with PR_SET_PDEATHSIG(SIGKILL): a SIGKILLed
    // gatebox takes its VM with it. The destructor kills and reaps it on every path. It is
    // confined (no network, no capabilities, no_new_privs): a VMM escape is not host root.
    RunscProcess process = RunscProcess::start(RunscCommand{binary, {}}, std::vector<std::string>(argv.begin() + 1, argv.end()),
                                               console.write.get(), vmm_err.write.get(), /*confine=*/true);
    console.write.reset();
    vmm_err.write.reset();
    const Clock::time_point t_spawn = Clock::now();
    bool out_open = true, err_open = true;
    std::vector<char> buf(64 * 1024);
    auto kill_vm = [&] {
      if (!killed && !exited) process.kill_group();
      killed = true;
    };

    while (!exited || out_open || err_open) {
      Clock::time_point deadline;
      if (session.finished()) {
        deadline = t_gate_end + std::chrono::seconds(1);  // the agent powers off right after its last frame
      } else if (session.started()) {
        deadline = t_started + profile.limits.timeout;
      } else {
        deadline = t_spawn + boot_bound;
      }
      // Compared on every pass, not only when poll() times out: a gate (or a guest) that
      // keeps the console busy makes poll() return at once, every time.
      if (!killed && Clock::now() >= deadline) {
        if (session.started() && !session.finished()) outcome.timed_out = true;
        if (!session.started()) boot_timed_out = true;
        kill_vm();  // finished: powered off too slowly, the verdict is already known
        continue;
      }
      if (!session.started() && !killed) {
        Console::get().status(fmt::format("booting the {} guest ({})…", vmm.name(), kvm ? "KVM" : "TCG, software emulation"));
      }
      int wait_ms = 5000;  // after a kill, what is left comes at once
      if (!killed) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        wait_ms = static_cast<int>(std::clamp<long long>(left, 0, 60'000));
      }
      pollfd fds[4];
      int n = 0;
      auto add = [&](int fd, bool on) {
        if (on && fd >= 0) fds[n++] = pollfd{fd, POLLIN, 0};
      };
      add(console.read.get(), out_open);
      add(vmm_err.read.get(), err_open);
      add(process.pidfd(), !exited);
      add(interrupt_fd(), !outcome.interrupted);
      const int rc = ::poll(fds, static_cast<nfds_t>(n), wait_ms);
      if (rc < 0 && errno != EINTR) throw sys_error("poll", "the VM's console");
      if (rc == 0) {
        if (killed) break;
        continue;  // the deadline is checked at the top
      }
      for (int i = 0; i < n; ++i) {
        if (fds[i].revents == 0) continue;
        const int fd = fds[i].fd;
        if (fd == interrupt_fd()) {
          if (const int sig = pending_interrupt(); sig != 0) {
            outcome.interrupted = true;
            outcome.interrupt_signal = sig;
            kill_vm();
          }
        } else if (fd == process.pidfd()) {
          status = process.reap(nullptr);
          exited = true;
        } else if (fd == console.read.get() || fd == vmm_err.read.get()) {
          const bool is_console = fd == console.read.get();
          const ssize_t r = ::read(fd, buf.data(), buf.size());
          if (r > 0) {
            const std::string_view bytes(buf.data(), static_cast<std::size_t>(r));
            if (!is_console) {
              keep_tail(vmm_stderr, bytes);
              continue;
            }
            const bool was_started = session.started(), was_finished = session.finished();
            if (!was_started) Console::get().progress_done();  // the gate's output may follow at once
            session.feed(bytes);
            if (session.started() && !was_started) {
              t_started = Clock::now();
              outcome.timings.start_ms = ms_between(t_begin, t_started);
            }
            if (session.finished() && !was_finished) t_gate_end = Clock::now();
          } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
            (is_console ? out_open : err_open) = false;
          }
        }
      }
    }
    if (!exited) {
      kill_vm();
      status = process.reap(nullptr);
    }
  }
  if (t_gate_end == Clock::time_point{}) t_gate_end = Clock::now();
  run_dir.reset();
  outcome.timings.teardown_ms = ms_between(t_gate_end, Clock::now());

  if (session.rejected() > 0) {
    Console::get().warn(fmt::format("ignored {} frame(s) on the guest's console that were not authentic "
                                    "(written by something other than the agent; they change nothing)",
                                    session.rejected()));
  }
  const std::string vmm_name(vmm.name());
  if (outcome.interrupted) {
    if (!session.started()) {
      throw make_error(outcome.interrupt_signal == SIGINT ? ExitCode::sigint : ExitCode::sigterm,
                       "{} while the {} guest was booting; nothing was left running", signal_name(outcome.interrupt_signal),
                       vmm_name);
    }
    return outcome;
  }
  if (session.failure()) {
    throw make_error(ExitCode::internal, "the guest agent could not start the gate: {}", *session.failure());
  }
  if (outcome.timed_out) return outcome;
  if (session.exit_report()) {
    apply_exit_report(*session.exit_report(), profile.verdict.file.empty() ? std::nullopt : session.verdict_file(), outcome);
    if (!session.started()) outcome.timings.start_ms = ms_between(t_begin, t_gate_end);
    return outcome;
  }
  if (session.malformed()) {
    outcome.stack_error = *session.malformed();
    return outcome;
  }
  if (boot_timed_out) {
    // The gate never started: a set-up failure (70), as a sandbox that cannot start is on
    // every other stack, not a verdict about the gate.
    throw make_error(ExitCode::internal, "the guest did not start within {} s (console: {})", boot_bound.count(),
                     console_excerpt(session.console_tail()));
  }
  // The VMM ended on its own without the agent's last frame.
  const bool vmm_failed = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
  if (vmm_failed && !vmm_stderr.empty()) {
    const std::string what = fmt::format("{} failed ({}): {}", vmm_name,
                                         WIFEXITED(status) ? fmt::format("exit status {}", WEXITSTATUS(status))
                                                           : fmt::format("signal {}", WTERMSIG(status)),
                                         console_excerpt(vmm_stderr, 3));
    if (!session.started()) throw Error(ExitCode::internal, what);
    outcome.stack_error = what;
    return outcome;
  }
  outcome.stack_error = classify_silent_stop(session.console_tail());
  return outcome;
}

std::vector<std::string> sweep_vm_runs(const fs::path& cache_dir) {
  std::vector<std::string> removed;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(cache_dir / "vm" / "runs", ec)) {
    const std::string name = e.path().filename().string();
    const pid_t owner = static_cast<pid_t>(std::strtol(name.c_str(), nullptr, 10));
    if (owner <= 0 || process_alive(owner)) continue;
    try {
      remove_tree(e.path());
      removed.push_back("run dir " + e.path().string());
    } catch (const Error& err) {
      Console::get().warn(fmt::format("could not remove {}: {}", e.path().string(), err.what()));
    }
  }
  return removed;
}

}  // namespace gatebox::vm
