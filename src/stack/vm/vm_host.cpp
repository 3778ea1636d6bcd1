#include "stack/vm/vm_host.hpp"

#include <algorithm>

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "stack/vm/job.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"

namespace gatebox::vm {

std::optional<std::uint64_t> tsc_khz_from_cpuinfo(const std::string& cpuinfo) {
  std::istringstream in(cpuinfo);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("cpu MHz", 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) return std::nullopt;
    char* end = nullptr;
    const double mhz = std::strtod(line.c_str() + colon + 1, &end);
    if (end == line.c_str() + colon + 1 || !(mhz > 0) || mhz > 100'000) return std::nullopt;
    return static_cast<std::uint64_t>(std::llround(mhz * 1000));
  }
  return std::nullopt;
}

std::optional<std::uint64_t> host_tsc_khz() {
  const std::string exported = read_first_line("/sys/devices/system/cpu/cpu0/tsc_freq_khz");
  if (!exported.empty()) {
    char* end = nullptr;
    const unsigned long long khz = std::strtoull(exported.c_str(), &end, 10);
    if (khz > 0 && *end == '\0') return khz;
  }
  return tsc_khz_from_cpuinfo(read_file("/proc/cpuinfo").value_or(""));
}

std::uint64_t guest_memory_mib(std::uint64_t limit_bytes, std::uint64_t initramfs_bytes, std::uint64_t tree_ram_bytes) {
  constexpr std::uint64_t kMiB = 1ULL << 20;
  const std::uint64_t bytes =
      std::max(limit_bytes + 128 * kMiB + initramfs_bytes + tree_ram_bytes, 2 * tree_ram_bytes + 128 * kMiB);
  const std::uint64_t two_mib = 2 * kMiB;
  return (bytes + two_mib - 1) / two_mib * 2;
}

unsigned guest_vcpus(double cpus, unsigned max) {
  if (max == 0) max = std::max(1U, std::thread::hardware_concurrency());
  const double wanted = cpus > 0 ? std::ceil(cpus) : 1.0;
  return static_cast<unsigned>(std::clamp(wanted, 1.0, static_cast<double>(max)));
}

std::string kernel_cmdline(std::optional<std::uint64_t> tsc_khz, const std::string& reboot, const std::string& extra) {
  // Lean, but no security feature is switched off: quiet and loglevel only keep the
  // console (which the frames share) short; panic=-1 turns a panic into an immediate
  // reboot, which the VMM turns into its own exit; i8042.noaux skips probing a mouse port.
  std::string line = fmt::format("console=ttyS0 quiet loglevel=4 panic=-1 reboot={} rdinit={} random.trust_cpu=on i8042.noaux",
                                 reboot, kAgentPath);
  if (tsc_khz) line += fmt::format(" tsc_early_khz={}", *tsc_khz);
  if (!extra.empty()) line += " " + extra;
  return line;
}

}  // namespace gatebox::vm
