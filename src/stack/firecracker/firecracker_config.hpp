#pragma once
// The JSON file `firecracker --no-api --config-file` reads (the API's FullVmConfiguration):
// boot source (ELF vmlinux, initramfs, command line), machine config, no drives, no network.
// The serial console is firecracker's stdout when no serial device is configured.
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "stack/vm/vm_runner.hpp"

namespace gatebox {

// vCPUs firecracker accepts: 1 or an even number, at most 32.
unsigned firecracker_vcpus(unsigned wanted);

// The config for `spec`; `log_path` is the file firecracker's own log goes to (it must
// exist: firecracker opens it, it does not create it). Its log must not reach stdout, where
// it could split the agent's frames.
nlohmann::json firecracker_config(const vm::VmSpec& spec, const std::filesystem::path& log_path);

}  // namespace gatebox
