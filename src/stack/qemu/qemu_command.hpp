#pragma once
// The qemu command line of a run, and the facts about the installed qemu that the probe
// shows: pure functions, so that the exact flags are tested.
#include <string>
#include <string_view>
#include <vector>

#include "stack/vm/vm_runner.hpp"

namespace gatebox {

// `qemu-system-x86_64 -M microvm,... -kernel <vmlinux> -initrd <cpio> -append <cmdline>`:
// PVH boot of the ELF vmlinux, one 16550 serial port on stdio (the console and the frames),
// no network, no disk, no display, no monitor, and -no-reboot so that the guest's reboot
// (a panic with panic=-1, reboot=t) ends qemu.
std::vector<std::string> qemu_argv(const std::string& binary, const vm::VmSpec& spec);

// "QEMU emulator version 7.2.22 (Debian ...)" -> "7.2.22"; empty when not recognised.
std::string parse_qemu_version(std::string_view version_text);

// stack.qemu.accel: "kvm" or "tcg" for auto|kvm|tcg and whether KVM is usable.
std::string choose_accel(std::string_view requested, bool kvm_usable);

}  // namespace gatebox
