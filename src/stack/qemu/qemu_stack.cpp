// The qemu stack: `qemu-system-x86_64 -M microvm` booting the ELF vmlinux through PVH with
// gatebox's initramfs (docs/ARCHITECTURE.md §4.5). KVM when /dev/kvm is usable, TCG
// otherwise; the run itself is the VM runner's (src/stack/vm/vm_runner.hpp).
#include "stack/qemu/qemu_stack.hpp"

#include "stack/gvisor/runsc_process.hpp"
#include "stack/qemu/qemu_command.hpp"
#include "stack/vm/tool_version.hpp"
#include "stack/vm/vm_host.hpp"
#include "stack/vm/vm_probe.hpp"
#include "stack/vm/vm_cache.hpp"
#include "stack/vm/vm_runner.hpp"
#include "util/error.hpp"

namespace gatebox {
namespace {

class QemuVmm final : public vm::Vmm {
 public:
  std::string_view name() const override { return "qemu"; }
  std::string binary(const Profile& profile) const override {
    const std::string found = find_executable(profile.stack.qemu.binary);
    if (found.empty()) {
      throw make_error(ExitCode::unavailable, "stack.qemu.binary: '{}' is not an executable on PATH (apt-get install qemu-system-x86)",
                       profile.stack.qemu.binary);
    }
    return found;
  }
  std::string configured_kernel(const Profile& profile) const override { return profile.stack.qemu.kernel; }
  std::string kernel_sha256(const Profile& profile) const override { return profile.stack.qemu.kernel_sha256; }
  bool use_kvm(const Profile& profile) const override {
    const vm::KvmStatus kvm = vm::kvm_status();
    if (profile.stack.qemu.accel == "kvm" && !kvm.usable) {
      throw make_error(ExitCode::unavailable, "stack.qemu.accel = \"kvm\": {}; use \"auto\" or \"tcg\"", kvm.detail);
    }
    return choose_accel(profile.stack.qemu.accel, kvm.usable) == "kvm";
  }
  // A triple fault: immediate, needs no device, and -no-reboot turns it into qemu's exit.
  std::string reboot_method() const override { return "t"; }
  std::vector<std::string> argv(const std::string& binary, const vm::VmSpec& spec) const override {
    return qemu_argv(binary, spec);
  }
};

class QemuStack final : public Stack {
 public:
  std::string_view name() const override { return "qemu"; }
  Availability probe_host() const override { return probe(Profile{}, ProbeMode::run_tools); }
  Availability probe_for(const Profile& profile, ProbeMode mode) const override { return probe(profile, mode); }

  RunOutcome run(const RunRequest& request) override { return vm::run_vm(vmm_, request); }
  std::string describe(const RunRequest& request) const override { return vm::describe_vm(vmm_, request); }
  std::vector<std::string> sweep(const std::filesystem::path& cache_dir) override { return vm::sweep_vm_runs(cache_dir); }
  std::vector<std::string> clear_cache(const std::filesystem::path& cache_dir) override { return vm::clear_vm_cache(cache_dir); }

 private:
  Availability probe(const Profile& profile, ProbeMode mode) const {
    Availability a;
    const auto& q = profile.stack.qemu;
    const vm::KvmStatus kvm = vm::kvm_status();
    const std::string accel = choose_accel(q.accel, kvm.usable);
    a.details.emplace_back("accel", accel == "kvm" ? "kvm: " + kvm.detail
                                                   : "tcg (software emulation, slow): " + (kvm.usable ? "stack.qemu.accel = \"tcg\"" : kvm.detail));
    const std::string binary = find_executable(q.binary);
    if (binary.empty()) {
      a.reason = fmt::format("{} not found in PATH (apt-get install qemu-system-x86, or name it with --set "
                             "stack.qemu.binary=...)", q.binary);
      return a;
    }
    const bool may_run = mode == ProbeMode::run_tools;
    const std::string version = vm::cached_tool_version(binary, {"--version"}, parse_qemu_version, may_run);
    a.details.emplace_back("qemu", vm::tool_version_detail(binary, version, may_run));
    if (!vm::probe_guest_parts(q.kernel, a)) return a;
    if (q.accel == "kvm" && !kvm.usable) {
      a.reason = fmt::format("stack.qemu.accel = \"kvm\" but {}", kvm.detail);
      return a;
    }
    a.available = true;
    return a;
  }

  QemuVmm vmm_;
};

}  // namespace

std::unique_ptr<Stack> make_qemu_stack() { return std::make_unique<QemuStack>(); }

}  // namespace gatebox
