// The firecracker stack: `firecracker --no-api --config-file` with the same ELF vmlinux,
// initramfs and agent as qemu (docs/ARCHITECTURE.md §4.5). Needs /dev/kvm. The run is the
// VM runner's.
#include "stack/firecracker/firecracker_stack.hpp"

#include <fstream>

#include "stack/firecracker/firecracker_config.hpp"
#include "stack/gvisor/runsc_process.hpp"
#include "stack/vm/tool_version.hpp"
#include "stack/vm/vm_host.hpp"
#include "stack/vm/vm_probe.hpp"
#include "stack/vm/vm_cache.hpp"
#include "stack/vm/vm_runner.hpp"
#include "util/error.hpp"

namespace gatebox {
namespace {

namespace fs = std::filesystem;

// "Firecracker v1.7.0\n..." -> "1.7.0"
std::string parse_firecracker_version(std::string_view text) {
  const auto at = text.find('v');
  if (at == std::string_view::npos) return "";
  std::string_view rest = text.substr(at + 1);
  rest = rest.substr(0, rest.find_first_of(" \n"));
  return rest.empty() || rest.front() < '0' || rest.front() > '9' ? "" : std::string(rest);
}

class FirecrackerVmm final : public vm::Vmm {
 public:
  std::string_view name() const override { return "firecracker"; }
  std::string binary(const Profile& profile) const override {
    const std::string found = find_executable(profile.stack.firecracker.binary);
    if (found.empty()) {
      throw make_error(ExitCode::unavailable, "stack.firecracker.binary: {} not found in PATH", profile.stack.firecracker.binary);
    }
    return found;
  }
  std::string configured_kernel(const Profile& profile) const override { return profile.stack.firecracker.kernel; }
  std::string kernel_sha256(const Profile& profile) const override { return profile.stack.firecracker.kernel_sha256; }
  bool use_kvm(const Profile&) const override {
    const vm::KvmStatus kvm = vm::kvm_status();
    if (!kvm.usable) throw make_error(ExitCode::unavailable, "firecracker needs KVM: {}", kvm.detail);
    return true;
  }
  // Firecracker ends the VM when the guest resets through its i8042 controller.
  std::string reboot_method() const override { return "k"; }
  // Firecracker has no PCI bus: the kernel need not look for one.
  std::string extra_cmdline() const override { return "pci=off"; }
  std::vector<std::string> argv(const std::string& binary, const vm::VmSpec& spec) const override {
    const fs::path log = spec.run_dir / "firecracker.log";
    const fs::path config = spec.run_dir / "config.json";
    std::ofstream(log).close();
    std::ofstream out(config);
    out << firecracker_config(spec, log).dump(2) << '\n';
    out.close();
    if (!out) throw make_error(ExitCode::internal, "cannot write {}", config.string());
    return {binary, "--no-api", "--config-file", config.string()};
  }
};

class FirecrackerStack final : public Stack {
 public:
  std::string_view name() const override { return "firecracker"; }
  Availability probe_host() const override { return probe(Profile{}, ProbeMode::run_tools); }
  Availability probe_for(const Profile& profile, ProbeMode mode) const override { return probe(profile, mode); }
  RunOutcome run(const RunRequest& request) override { return vm::run_vm(vmm_, request); }
  std::string describe(const RunRequest& request) const override { return vm::describe_vm(vmm_, request); }
  std::vector<std::string> sweep(const fs::path& cache_dir) override { return vm::sweep_vm_runs(cache_dir); }
  std::vector<std::string> clear_cache(const fs::path& cache_dir) override { return vm::clear_vm_cache(cache_dir); }

 private:
  Availability probe(const Profile& profile, ProbeMode mode) const {
    Availability a;
    const auto& f = profile.stack.firecracker;
    std::vector<std::string> missing;
    const std::string binary = find_executable(f.binary);
    if (binary.empty()) {
      missing.push_back(fmt::format("{} not found in PATH", f.binary));
    } else {
      const bool may_run = mode == ProbeMode::run_tools;
      const std::string version = vm::cached_tool_version(binary, {"--version"}, parse_firecracker_version, may_run);
      a.details.emplace_back("firecracker", vm::tool_version_detail(binary, version, may_run));
    }
    const vm::KvmStatus kvm = vm::kvm_status();
    a.details.emplace_back("kvm", kvm.detail);
    if (!kvm.usable) missing.push_back(kvm.detail);
    if (!vm::probe_guest_parts(f.kernel, a)) missing.push_back(a.reason);
    if (!missing.empty()) {
      a.reason.clear();
      for (const std::string& m : missing) a.reason += (a.reason.empty() ? "" : "; ") + m;
      return a;
    }
    a.available = true;
    return a;
  }

  FirecrackerVmm vmm_;
};

}  // namespace

std::unique_ptr<Stack> make_firecracker_stack() { return std::make_unique<FirecrackerStack>(); }

}  // namespace gatebox
