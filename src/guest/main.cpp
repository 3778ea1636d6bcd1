// gatebox-init: PID 1 of the VM stacks' guests. Reads the job, sets the guest up, runs the
// gate, reports everything as authenticated frames on ttyS0, and powers the VM off.
//
// PID 1 must never exit (the kernel panics when it does): every path ends in power_off(),
// and no exception leaves main.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <optional>
#include <string>

#include "guest/frame_writer.hpp"
#include "guest/gate.hpp"
#include "guest/supervisor.hpp"
#include "guest/system.hpp"
#include "stack/vm/job.hpp"

namespace gatebox::guest {
namespace {

[[noreturn]] void power_off(int console) {
  if (console >= 0) {
    ::tcdrain(console);
    ::fsync(console);
  }
  ::sync();
  ::reboot(RB_POWER_OFF);
  // reboot=t on the kernel command line makes this a triple fault, which -no-reboot turns
  // into the VMM's exit.
  ::reboot(RB_AUTOBOOT);
  while (true) ::pause();
}

// Before the secret is known nothing can be authenticated: a plain line on the console
// (the host shows the console's tail when no frame ends the run).
[[noreturn]] void early_failure(int console, const std::string& line) {
  const std::string text = "gatebox-init: " + line + "\n";
  write_all(console >= 0 ? console : 2, text);
  power_off(console);
}

int open_console() {
  const int fd = ::open("/dev/ttyS0", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return -1;
  // Raw: frames are binary, and the tty must not turn \n into \r\n inside them.
  termios t{};
  if (::tcgetattr(fd, &t) == 0) {
    ::cfmakeraw(&t);
    ::tcsetattr(fd, TCSANOW, &t);
  }
  return fd;
}

std::string read_job_file() {
  const int fd = ::open(std::string(vm::kJobPath).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) throw_errno("open " + std::string(vm::kJobPath), errno);
  std::string text;
  char buf[16384];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
  const int e = errno;
  ::close(fd);
  if (n < 0) throw_errno("read " + std::string(vm::kJobPath), e);
  return text;
}

// Everything between `hello` and the gate's start; then the gate's run.
vm::ExitReport run(const vm::Job& job, FrameWriter& frames) {
  remove_tree(std::string(vm::kAgentDir));
  mount_system(job);
  set_hostname(job.hostname);
  if (job.loopback) loopback_up();
  const GateCgroup cgroup = make_gate_cgroup(job);
  make_cwd(job);
  write_etc_files(job);
  apply_readonly(job);
  const GatePlan plan = plan_gate(job, cgroup.procs);
  const GateProcess gate = start_gate(plan);
  return supervise(job, gate, cgroup, frames);
}

[[noreturn]] void agent_main() {
  // Nothing the gate later runs as (not even uid 0 without capabilities) may read this
  // process's memory, which holds the secret.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  ::reboot(RB_DISABLE_CAD);
  int console = -1;
  vm::Job job;
  try {
    mount_dev();
    console = open_console();
    if (console < 0) early_failure(-1, std::string("open /dev/ttyS0: ") + std::strerror(errno));
    job = vm::job_from_json(read_job_file());
  } catch (const std::exception& e) {
    early_failure(console, e.what());
  }

  FrameWriter frames(console, job.secret);
  frames.send(vm::FrameType::hello, "gatebox-init " + std::string(vm::kAgentProtocol));
  std::optional<vm::ExitReport> report;
  std::string failure;
  try {
    report = run(job, frames);
  } catch (const std::exception& e) {
    failure = e.what();
  } catch (...) {
    failure = "unexpected error in the guest agent";
  }
  try {
    if (report) {
      if (!job.verdict_file.empty()) {
        if (auto verdict = read_verdict_file(job.verdict_file)) frames.send(vm::FrameType::verdict, *verdict);
      }
      frames.send(vm::FrameType::exit, vm::exit_report_to_json(*report));
    } else {
      frames.send(vm::FrameType::failure, failure);
    }
  } catch (const std::exception& e) {
    write_all(console, std::string("gatebox-init: ") + e.what() + "\n");
  }
  power_off(console);
}

}  // namespace
}  // namespace gatebox::guest

int main() { gatebox::guest::agent_main(); }
