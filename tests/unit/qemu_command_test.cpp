// The qemu command line gatebox runs, and what it reads from qemu and the host for it: a
// wrong flag here is a VM that does not boot, hangs at clock calibration, or has a network.
#include <doctest/doctest.h>

#include <algorithm>

#include "stack/qemu/qemu_command.hpp"
#include "stack/vm/vm_host.hpp"

using namespace gatebox;

namespace {

vm::VmSpec spec(bool kvm) {
  vm::VmSpec s;
  s.run_dir = "/c/vm/runs/1-a";
  s.kernel = "/c/vm/vmlinux-abc";
  s.initramfs = "/c/vm/runs/1-a/initramfs.cpio";
  s.cmdline = "console=ttyS0 quiet";
  s.memory_mib = 1186;
  s.vcpus = 2;
  s.kvm = kvm;
  return s;
}

// The value following `flag` in argv, or "" when the flag is absent.
std::string after(const std::vector<std::string>& argv, const std::string& flag) {
  auto it = std::find(argv.begin(), argv.end(), flag);
  return it == argv.end() || it + 1 == argv.end() ? "" : *(it + 1);
}

bool has(const std::vector<std::string>& argv, const std::string& flag) {
  return std::find(argv.begin(), argv.end(), flag) != argv.end();
}

}  // namespace

TEST_SUITE("qemu") {
  TEST_CASE("the command boots the ELF vmlinux on microvm with one serial console and no devices") {
    const auto argv = qemu_argv("/usr/bin/qemu-system-x86_64", spec(false));
    CHECK(argv.front() == "/usr/bin/qemu-system-x86_64");
    CHECK(after(argv, "-M") == "microvm,isa-serial=on,pit=on,pic=on,rtc=on,acpi=on");
    CHECK(after(argv, "-accel") == "tcg");
    CHECK(after(argv, "-cpu") == "max");
    CHECK(after(argv, "-m") == "1186M");
    CHECK(after(argv, "-smp") == "2");
    CHECK(after(argv, "-serial") == "stdio");
    CHECK(after(argv, "-kernel") == "/c/vm/vmlinux-abc");
    CHECK(after(argv, "-initrd") == "/c/vm/runs/1-a/initramfs.cpio");
    CHECK(after(argv, "-append") == "console=ttyS0 quiet");
    CHECK(after(argv, "-display") == "none");
    CHECK(after(argv, "-monitor") == "none");
    // No default devices (so no NIC), no user config, and a reboot ends qemu.
    CHECK(has(argv, "-nodefaults"));
    CHECK(has(argv, "-no-user-config"));
    CHECK(has(argv, "-no-reboot"));
    CHECK_FALSE(has(argv, "-netdev"));
    CHECK_FALSE(has(argv, "-nic"));
    // QEMU's own seccomp sandbox, with every optional restriction on.
    CHECK(after(argv, "-sandbox") == "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
  }

  TEST_CASE("KVM uses the host CPU model") {
    const auto argv = qemu_argv("qemu", spec(true));
    CHECK(after(argv, "-accel") == "kvm");
    CHECK(after(argv, "-cpu") == "host");
  }

  TEST_CASE("accel auto follows /dev/kvm; an explicit choice is kept") {
    CHECK(choose_accel("auto", true) == "kvm");
    CHECK(choose_accel("auto", false) == "tcg");
    CHECK(choose_accel("tcg", true) == "tcg");
    CHECK(choose_accel("kvm", false) == "kvm");
  }

  TEST_CASE("qemu's version line") {
    CHECK(parse_qemu_version("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright ...") == "7.2.22");
    CHECK(parse_qemu_version("QEMU emulator version 8.2.0\n") == "8.2.0");
    CHECK(parse_qemu_version("something else") == "");
  }

  TEST_CASE("guest RAM is the memory limit plus the guest's overhead, rounded to 2 MiB") {
    constexpr std::uint64_t MiB = 1ULL << 20;
    CHECK(vm::guest_memory_mib(1024 * MiB, 0, 0) == 1152);
    CHECK(vm::guest_memory_mib(1024 * MiB, 3 * MiB, 9 * MiB) == 1164);
    CHECK(vm::guest_memory_mib(64 * MiB, 1, 1) == 194);  // 192 MiB + 2 bytes -> next 2 MiB
    CHECK(vm::guest_memory_mib(0, 0, 0) == 128);
    // A large tree: the kernel's rootfs may fill half the RAM, so at least twice the tree.
    CHECK(vm::guest_memory_mib(256 * MiB, 250 * MiB, 900 * MiB) == 1928);
  }

  TEST_CASE("vCPUs are limits.cpus rounded up, within the host") {
    CHECK(vm::guest_vcpus(0.5, 8) == 1);
    CHECK(vm::guest_vcpus(1.0, 8) == 1);
    CHECK(vm::guest_vcpus(1.2, 8) == 2);
    CHECK(vm::guest_vcpus(16, 4) == 4);
    CHECK(vm::guest_vcpus(0, 4) == 1);
  }

  TEST_CASE("the TSC frequency comes from the first CPU's MHz") {
    const std::string cpuinfo = "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu MHz\t\t: 2095.987\n\nprocessor\t: 1\ncpu MHz\t\t: 1800.000\n";
    CHECK(vm::tsc_khz_from_cpuinfo(cpuinfo) == 2095987);
    CHECK_FALSE(vm::tsc_khz_from_cpuinfo("processor : 0\n").has_value());
    CHECK_FALSE(vm::tsc_khz_from_cpuinfo("cpu MHz : nonsense\n").has_value());
  }

  TEST_CASE("the kernel command line: agent as init, panics reboot, clock hint, nothing switched off") {
    const std::string line = vm::kernel_cmdline(2095987, "t");
    CHECK(line.find("console=ttyS0") != std::string::npos);
    CHECK(line.find("rdinit=/.gatebox/init") != std::string::npos);
    CHECK(line.find("panic=-1") != std::string::npos);
    CHECK(line.find("reboot=t") != std::string::npos);
    CHECK(line.find("tsc_early_khz=2095987") != std::string::npos);
    for (const char* off : {"nokaslr", "mitigations=off", "nosmap", "nosmep", "selinux=0", "apparmor=0", "nopti"}) {
      CHECK_MESSAGE(line.find(off) == std::string::npos, off);
    }
    CHECK(vm::kernel_cmdline(std::nullopt, "k", "pci=off").find("tsc_early_khz") == std::string::npos);
    CHECK(vm::kernel_cmdline(std::nullopt, "k", "pci=off").find(" pci=off") != std::string::npos);
  }
}
