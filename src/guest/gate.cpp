#include "guest/gate.hpp"

#include "util/exec_path.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "guest/system.hpp"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace gatebox::guest {
namespace {

void send_record(int fd, GateStage stage, int err) {
  const GateRecord r{static_cast<std::int32_t>(stage), err};
  ssize_t n;
  do n = ::write(fd, &r, sizeof r);
  while (n < 0 && errno == EINTR);
}

[[noreturn]] void fail(int fd, GateStage stage, int err = errno) {
  send_record(fd, stage, err);
  ::_exit(125);
}

void lower_limit(int resource, std::uint64_t value, int fd) {
  rlimit cur{};
  if (::getrlimit(resource, &cur) != 0) fail(fd, GateStage::rlimits);
  const rlim_t v = value < cur.rlim_max ? static_cast<rlim_t>(value) : cur.rlim_max;
  const rlimit next{v, v};
  if (::setrlimit(resource, &next) != 0) fail(fd, GateStage::rlimits);
}

// Runs in the forked child. Order: cgroup first (so everything after is accounted), then
// identity, capabilities, limits, working directory as the gate's user (so its
// permissions apply), and the filter last, right before execve.
[[noreturn]] void run_child(const GatePlan& plan, int out_w, int err_w, int setup_w, int devnull) {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);  // the agent blocks SIGCHLD for its signalfd
  if (plan.cgroup_procs >= 0 && ::write(plan.cgroup_procs, "0", 1) != 1) fail(setup_w, GateStage::cgroup);
  if (::setsid() < 0) fail(setup_w, GateStage::stdio);
  if (::dup2(devnull, 0) < 0 || ::dup2(out_w, 1) < 0 || ::dup2(err_w, 2) < 0) fail(setup_w, GateStage::stdio);
  ::umask(022);

  for (int cap = 0; cap <= plan.cap_last_cap; ++cap) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) fail(setup_w, GateStage::credentials);
  }
  if (::setgroups(0, nullptr) != 0) fail(setup_w, GateStage::credentials);
  if (::setresgid(plan.gid, plan.gid, plan.gid) != 0) fail(setup_w, GateStage::credentials);
  if (::setresuid(plan.uid, plan.uid, plan.uid) != 0) fail(setup_w, GateStage::credentials);
  // A uid-0 gate keeps its capabilities through setresuid: clear them explicitly (the raw
  // syscall: the agent carries no libcap).
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capset, &header, data) != 0) fail(setup_w, GateStage::credentials);
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    fail(setup_w, GateStage::credentials);
  }
  lower_limit(RLIMIT_NOFILE, plan.open_files, setup_w);
  lower_limit(RLIMIT_CORE, 0, setup_w);
  if (::chdir(plan.cwd.c_str()) != 0) fail(setup_w, GateStage::cwd);
  if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    for (int fd = 3; fd < 4096; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(setup_w, GateStage::seccomp);
  if (!plan.seccomp.empty()) {
    sock_fprog prog{};
    prog.len = static_cast<unsigned short>(plan.seccomp.size());
    prog.filter = const_cast<sock_filter*>(plan.seccomp.data());
    if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) fail(setup_w, GateStage::seccomp);
  }
  send_record(setup_w, GateStage::ready, 0);
  int err = ENOENT;
  for (const std::string& candidate : plan.candidates) {
    ::execve(candidate.c_str(), plan.argv.data(), plan.envp.data());
    if (errno != ENOENT && errno != ENOTDIR) err = errno;
  }
  send_record(setup_w, GateStage::exec, err);
  ::_exit(err == ENOENT ? 127 : 126);
}

int read_cap_last_cap() {
  int fd = ::open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 63;
  char buf[16] = {};
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  const int v = n > 0 ? std::atoi(buf) : 0;
  return v > 0 ? v : 63;
}

}  // namespace

const char* gate_stage_name(GateStage stage) {
  switch (stage) {
    case GateStage::ready: return "ready";
    case GateStage::cgroup: return "join the gate's cgroup";
    case GateStage::stdio: return "set up the gate's standard streams";
    case GateStage::credentials: return "set uid/gid and drop capabilities";
    case GateStage::rlimits: return "set rlimits";
    case GateStage::cwd: return "chdir to run.cwd";
    case GateStage::seccomp: return "install the seccomp filter";
    case GateStage::exec: return "execve";
  }
  return "set-up";
}

GatePlan plan_gate(const vm::Job& job, int cgroup_procs) {
  GatePlan plan;
  plan.argv_storage = job.argv;
  for (const auto& [k, v] : job.env) plan.env_storage.push_back(k + "=" + v);
  plan.candidates = exec_candidates(job.argv.front(), job.env);
  for (std::string& s : plan.argv_storage) plan.argv.push_back(s.data());
  plan.argv.push_back(nullptr);
  for (std::string& s : plan.env_storage) plan.envp.push_back(s.data());
  plan.envp.push_back(nullptr);
  plan.uid = job.uid;
  plan.gid = job.gid;
  plan.cwd = job.cwd;
  plan.open_files = job.open_files;
  plan.seccomp = job.seccomp;
  plan.cgroup_procs = cgroup_procs;
  plan.cap_last_cap = read_cap_last_cap();
  return plan;
}

GateProcess start_gate(const GatePlan& plan) {
  int out[2], err[2], setup[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0 || ::pipe2(setup, O_CLOEXEC) != 0) {
    throw_errno("pipe2 for the gate's streams", errno);
  }
  const int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) throw_errno("open /dev/null", errno);
  const pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork the gate", errno);
  if (pid == 0) run_child(plan, out[1], err[1], setup[1], devnull);
  // The agent keeps no write end: EOF on the pipes then means every gate process is gone.
  for (int fd : {out[1], err[1], setup[1], devnull}) ::close(fd);
  return GateProcess{pid, out[0], err[0], setup[0]};
}

}  // namespace gatebox::guest
