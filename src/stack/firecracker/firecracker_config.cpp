#include "stack/firecracker/firecracker_config.hpp"

#include <algorithm>

namespace gatebox {

unsigned firecracker_vcpus(unsigned wanted) {
  wanted = std::clamp(wanted, 1U, 32U);
  return wanted == 1 || wanted % 2 == 0 ? wanted : wanted + 1;
}

nlohmann::json firecracker_config(const vm::VmSpec& spec, const std::filesystem::path& log_path) {
  return {
      {"boot-source",
       {{"kernel_image_path", spec.kernel.string()},
        {"initrd_path", spec.initramfs.string()},
        {"boot_args", spec.cmdline}}},
      {"machine-config",
       {{"vcpu_count", firecracker_vcpus(spec.vcpus)}, {"mem_size_mib", spec.memory_mib}, {"smt", false}}},
      {"drives", nlohmann::json::array()},
      {"network-interfaces", nlohmann::json::array()},
      {"logger", {{"log_path", log_path.string()}, {"level", "Warning"}}},
  };
}

}  // namespace gatebox
