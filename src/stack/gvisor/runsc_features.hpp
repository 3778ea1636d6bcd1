#pragma once
// What the installed runsc can do, read from its own help text (`runsc flags`), and the
// platform choice that follows from it. Builds differ a lot: Debian's 2022 runsc has
// ptrace and kvm, --overlay2 and --oci-seccomp; newer ones add systrap.
#include <string>
#include <string_view>
#include <vector>

namespace gatebox {

struct RunscFeatures {
  std::string version;                 // "0.0~20221219.0", from `runsc --version`
  std::vector<std::string> platforms;  // as the -platform flag lists them
  bool oci_seccomp = false;            // --oci-seccomp: linux.seccomp is enforced inside the sandbox
  bool overlay2 = false;               // --overlay2=root:memory
  bool overlay = false;                // the older --overlay (all mounts, memory-backed)
  bool ignore_cgroups = false;
  bool rootless = false;

  bool has_platform(std::string_view name) const;
};

// Parses `runsc flags` output (`runsc help run` lacks the global flags). Unknown text gives
// no features, never an error.
RunscFeatures parse_runsc_flags(std::string_view flags_text);
// "runsc version 0.0~20221219.0\nspec: 1.0.2-dev" -> "0.0~20221219.0"; empty if not found.
std::string parse_runsc_version(std::string_view version_text);

// stack.gvisor.platform = "auto": kvm where /dev/kvm is usable and runsc has it, else
// systrap where runsc has it, else ptrace. An explicit name is returned as it is.
std::string choose_platform(std::string_view requested, bool kvm_usable, const RunscFeatures& features);

}  // namespace gatebox
