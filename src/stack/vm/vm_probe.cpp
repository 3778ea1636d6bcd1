#include "stack/vm/vm_probe.hpp"

#include "stack/vm/initramfs.hpp"
#include "stack/vm/kernel.hpp"
#include "util/error.hpp"

namespace gatebox::vm {

bool probe_guest_parts(const std::string& configured_kernel, Availability& a) {
  std::string reason;
  const KernelChoice kernel = find_kernel_or_reason(configured_kernel, reason);
  a.details.emplace_back("kernel", kernel.path.empty() ? "none" : kernel.path.string() + " (" + kernel.source + ")");
  std::string agent_reason;
  try {
    a.details.emplace_back("agent", find_agent().string());
  } catch (const Error& e) {
    a.details.emplace_back("agent", "none");
    agent_reason = e.what();
  }
  if (kernel.path.empty()) {
    a.reason = reason;
    return false;
  }
  if (!agent_reason.empty()) {
    a.reason = agent_reason;
    return false;
  }
  return true;
}

}  // namespace gatebox::vm
