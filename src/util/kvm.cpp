#include "util/kvm.hpp"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "util/fd.hpp"

namespace gatebox {

bool kvm_is_pvm(const std::filesystem::path& sys_module) {
  std::error_code ec;
  return std::filesystem::exists(sys_module / "kvm_pvm", ec);
}

KvmStatus kvm_status() {
  KvmStatus s;
  Fd fd(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
  if (!fd) {
    const int err = errno;
    if (err == ENOENT) {
      s.detail = "/dev/kvm is missing (no hardware virtualisation here, or the kvm module is not loaded)";
    } else if (err == EACCES || err == EPERM) {
      s.detail = "/dev/kvm is not accessible to this user (add it to the kvm group)";
    } else {
      s.detail = fmt::format("/dev/kvm cannot be opened: {}", std::strerror(err));
    }
    return s;
  }
  const int version = ::ioctl(fd.get(), KVM_GET_API_VERSION, 0);
  if (version != KVM_API_VERSION) {
    s.detail = version < 0 ? fmt::format("/dev/kvm does not answer KVM_GET_API_VERSION: {}", std::strerror(errno))
                           : fmt::format("/dev/kvm has API version {}, expected {}", version, KVM_API_VERSION);
    return s;
  }
  if (kvm_is_pvm()) {
    s.detail = "/dev/kvm is PVM's (module kvm_pvm: nested virtualisation for PVM-enabled guest kernels only); "
               "a stock guest kernel and gVisor's KVM platform do not run on it";
    return s;
  }
  s.usable = true;
  s.detail = fmt::format("usable (/dev/kvm, API version {})", version);
  return s;
}

}  // namespace gatebox
