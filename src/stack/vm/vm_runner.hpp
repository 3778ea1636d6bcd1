#pragma once
// The common run of the VM stacks (qemu, firecracker): the kernel, the agent and the
// initramfs, the job, the VMM as a child process whose stdout is the guest's serial console,
// and the loop that turns the agent's frames into a RunOutcome. Only the VMM's command line
// differs between the stacks; it comes from a Vmm.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "stack/stack.hpp"
#include "stack/vm/job.hpp"

namespace gatebox::vm {

// One VM's shape, as both VMMs need it.
struct VmSpec {
  std::filesystem::path run_dir;    // private to the run; removed afterwards
  std::filesystem::path kernel;     // ELF vmlinux
  std::filesystem::path initramfs;  // the run's initramfs (base + job cpio)
  std::string cmdline;
  std::uint64_t memory_mib = 0;
  unsigned vcpus = 1;
  bool kvm = false;
};

class Vmm {
 public:
  virtual ~Vmm() = default;
  virtual std::string_view name() const = 0;  // "qemu", "firecracker": for messages
  // The VMM binary for this profile, absolute. Throws Error(69) when it is not installed.
  virtual std::string binary(const Profile& profile) const = 0;
  // The profile's stack.<vmm>.kernel (empty = discovered).
  virtual std::string configured_kernel(const Profile& profile) const = 0;
  // The site policy's sha256 pin of that kernel when the profile named an allow-listed one
  // (policy/operator_keys.hpp); empty otherwise.
  virtual std::string kernel_sha256(const Profile& profile) const = 0;
  // Whether this run uses KVM. Throws Error(69) when the profile demands KVM and it is unusable.
  virtual bool use_kvm(const Profile& profile) const = 0;
  // The guest kernel's reboot= method that makes this VMM exit (see kernel_cmdline).
  virtual std::string reboot_method() const = 0;
  virtual std::string extra_cmdline() const { return ""; }
  // Writes what the VMM reads into spec.run_dir (if anything) and returns its argv,
  // argv[0] = `binary`. Stdout must be the guest's serial console; stdin is /dev/null.
  virtual std::vector<std::string> argv(const std::string& binary, const VmSpec& spec) const = 0;
};

// The job for the agent from the request: argv, environment, identity, limits, mounts,
// verdict file, the compiled seccomp program (empty when unconfined) and `secret`.
Job make_job(const RunRequest& request, const Secret& secret, std::vector<sock_filter> seccomp);

// No `started` frame within this long after the VMM started: the guest did not boot.
std::chrono::seconds boot_deadline(bool kvm);

// The whole run. Throws Error(69) for a missing VMM/kernel/agent, Error(70) when the VM or
// the agent failed before the gate started (nothing left behind), Error(130/143) for an
// interrupt before the gate started.
RunOutcome run_vm(const Vmm& vmm, const RunRequest& request);

// `gatebox run --dry-run`: the VMM's command line (and what it would read, e.g. the
// firecracker config), with the kernel found but not extracted, and nothing started.
std::string describe_vm(const Vmm& vmm, const RunRequest& request);

// <cache_dir>/vm/runs/<run_id>: a run's private directory.
std::filesystem::path vm_run_dir(const std::filesystem::path& cache_dir, const std::string& run_id);
// Removes the run dirs of gatebox processes that are gone (their VMMs died with them:
// PR_SET_PDEATHSIG). A line per directory removed.
std::vector<std::string> sweep_vm_runs(const std::filesystem::path& cache_dir);

}  // namespace gatebox::vm
