#include "stack/qemu/qemu_command.hpp"

#include <fmt/format.h>

namespace gatebox {

std::vector<std::string> qemu_argv(const std::string& binary, const vm::VmSpec& spec) {
  // microvm needs the legacy PIT, PIC and RTC under TCG, or the kernel hangs calibrating its
  // clock; its ACPI (on by default) is what lets the agent's power-off end qemu.
  return {binary,
          "-M", "microvm,isa-serial=on,pit=on,pic=on,rtc=on,acpi=on",
          "-accel", spec.kvm ? "kvm" : "tcg",
          "-cpu", spec.kvm ? "host" : "max",
          "-m", fmt::format("{}M", spec.memory_mib),
          "-smp", std::to_string(spec.vcpus),
          "-nodefaults", "-no-user-config",
          "-display", "none",
          "-monitor", "none",
          "-serial", "stdio",
          "-no-reboot",
          // QEMU's own seccomp filter: no obsolete calls, no privilege changes, no fork or
          // exec, no scheduler or resource tuning. A guest that escapes into QEMU (which
          // QEMU does not promise to prevent under TCG) is held by it and by the
          // confinement the process starts with (vm_runner.cpp).
          "-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
          "-kernel", spec.kernel.string(),
          "-initrd", spec.initramfs.string(),
          "-append", spec.cmdline};
}

std::string parse_qemu_version(std::string_view text) {
  constexpr std::string_view key = "version ";
  const auto at = text.find(key);
  if (at == std::string_view::npos) return "";
  std::string_view rest = text.substr(at + key.size());
  rest = rest.substr(0, rest.find_first_of(" \n("));
  if (rest.empty() || rest.front() < '0' || rest.front() > '9') return "";
  return std::string(rest);
}

std::string choose_accel(std::string_view requested, bool kvm_usable) {
  if (requested == "kvm" || requested == "tcg") return std::string(requested);
  return kvm_usable ? "kvm" : "tcg";
}

}  // namespace gatebox
