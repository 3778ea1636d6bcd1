#pragma once
// Whether this host's /dev/kvm can run the guests gatebox starts (a stock Linux kernel under
// QEMU or Firecracker, gVisor's KVM platform), and why not. One answer for every stack and
// for `gatebox stacks`.
#include <filesystem>
#include <string>

namespace gatebox {

struct KvmStatus {
  bool usable = false;
  std::string detail;  // "usable (/dev/kvm, API version 12)" or why not: "/dev/kvm is missing", ...
};

// Opens /dev/kvm read-write and asks KVM_GET_API_VERSION; then rules out a /dev/kvm that
// only PVM guests can use (below). Quick; starts nothing.
KvmStatus kvm_status();

// A /dev/kvm provided by PVM (the kvm_pvm module: pagetable-based nested virtualisation,
// seen on cloud VMs without nested hardware virtualisation) runs only guest kernels built
// for PVM: a stock kernel never boots under QEMU (an MSR write fails, or the vCPU spins) and
// gVisor's KVM platform spins. `sys_module` is /sys/module, a parameter for tests.
bool kvm_is_pvm(const std::filesystem::path& sys_module = "/sys/module");

}  // namespace gatebox
