// The config file firecracker boots from: the same kernel, initramfs and command line as
// qemu, the VM's size, no devices, and firecracker's own log kept off the serial console.
#include <doctest/doctest.h>

#include "stack/firecracker/firecracker_config.hpp"

using namespace gatebox;

TEST_SUITE("firecracker") {
  TEST_CASE("boot source, machine config, no drives, no network") {
    vm::VmSpec spec;
    spec.kernel = "/cache/vm/vmlinux-abc";
    spec.initramfs = "/cache/vm/runs/1-a/initramfs.cpio";
    spec.cmdline = "console=ttyS0 reboot=k pci=off";
    spec.memory_mib = 1154;
    spec.vcpus = 1;
    const nlohmann::json c = firecracker_config(spec, "/cache/vm/runs/1-a/firecracker.log");
    CHECK(c["boot-source"]["kernel_image_path"] == "/cache/vm/vmlinux-abc");
    CHECK(c["boot-source"]["initrd_path"] == "/cache/vm/runs/1-a/initramfs.cpio");
    CHECK(c["boot-source"]["boot_args"] == "console=ttyS0 reboot=k pci=off");
    CHECK(c["machine-config"]["vcpu_count"] == 1);
    CHECK(c["machine-config"]["mem_size_mib"] == 1154);
    CHECK(c["machine-config"]["smt"] == false);
    CHECK(c["drives"].empty());
    CHECK(c["network-interfaces"].empty());
    CHECK(c["logger"]["log_path"] == "/cache/vm/runs/1-a/firecracker.log");
  }

  TEST_CASE("vCPUs are 1 or even, at most 32") {
    CHECK(firecracker_vcpus(0) == 1);
    CHECK(firecracker_vcpus(1) == 1);
    CHECK(firecracker_vcpus(2) == 2);
    CHECK(firecracker_vcpus(3) == 4);
    CHECK(firecracker_vcpus(64) == 32);
  }
}
