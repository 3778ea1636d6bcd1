#pragma once
// Facts about the host and sizes of the guest that both VMMs need: whether KVM is usable
// (and why not), the host's TSC frequency for the guest's command line, the guest's RAM
// and vCPUs from the profile's limits, and the kernel command line.
#include <cstdint>
#include <optional>
#include <string>

#include "util/kvm.hpp"

namespace gatebox::vm {

// Whether KVM can run the guest: util/kvm.hpp's answer, shared with gVisor's platform choice.
using gatebox::kvm_status;
using gatebox::KvmStatus;

// The host's TSC frequency in kHz: /sys/devices/system/cpu/cpu0/tsc_freq_khz where the
// kernel exports it, else /proc/cpuinfo's "cpu MHz" of the first CPU. The latter is the
// current clock, not the calibrated TSC, so it is an approximation; the guest only needs it
// to skip a calibration that can hang under TCG, and refines its clock source afterwards.
// nullopt when neither is readable.
std::optional<std::uint64_t> host_tsc_khz();
// The parsing half, for tests: the "cpu MHz" of the first processor in `cpuinfo`.
std::optional<std::uint64_t> tsc_khz_from_cpuinfo(const std::string& cpuinfo);

// Guest RAM in MiB, rounded up to 2 MiB: limits.memory + 128 MiB for the kernel and the
// agent + the initramfs as loaded (`initramfs_bytes`, freed once unpacked) + the tree it
// unpacks to (`tree_ram_bytes`, base_initramfs_ram_bytes plus the run's mounts); and at
// least twice that tree plus 128 MiB, because the kernel's rootfs (a tmpfs) may fill only
// half the RAM. RAM a guest never touches costs the host nothing; the gate itself stays
// bounded by limits.memory in its cgroup.
std::uint64_t guest_memory_mib(std::uint64_t limit_bytes, std::uint64_t initramfs_bytes, std::uint64_t tree_ram_bytes);
// vCPUs for limits.cpus: ceil, at least 1, at most `max` (the host's CPU count if 0).
unsigned guest_vcpus(double cpus, unsigned max = 0);

// The guest kernel's command line. `console` is the serial device ("ttyS0"), `reboot` the
// kernel's reboot method ("t" = triple fault for qemu -no-reboot, "k" = keyboard controller
// for firecracker), `extra` appended (VMM-specific, e.g. "pci=off").
std::string kernel_cmdline(std::optional<std::uint64_t> tsc_khz, const std::string& reboot, const std::string& extra = "");

}  // namespace gatebox::vm
