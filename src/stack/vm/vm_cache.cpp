#include "stack/vm/vm_cache.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "rootfs/tree_identity.hpp"
#include "stack/vm/file_digest.hpp"
#include "stack/vm/initramfs_detail.hpp"
#include "stack/vm/kernel.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"

namespace gatebox::vm {
namespace fs = std::filesystem;

std::vector<std::string> clear_vm_files(const fs::path& cache_dir, const std::set<std::string>& kept_rootfs,
                                        const std::string& kept_vmlinux) {
  std::vector<std::string> removed;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(cache_dir / "vm", ec)) {
    const std::string name = e.path().filename().string();
    std::error_code file_ec;
    if (!e.is_regular_file(file_ec)) continue;
    std::string what;
    if (name.rfind("initramfs-", 0) == 0 && name.find(".tmp-") == std::string::npos) {
      const std::string id = rootfs_id_of_base_initramfs(name);
      if (!id.empty() && kept_rootfs.count(id) != 0) continue;
      what = fmt::format("removed the VM stacks' initramfs{} of rootfs {}",
                         name.ends_with(kRamRecordSuffix) ? " size record" : "",
                         id.empty() ? "(unknown)" : id.substr(0, 20));
    } else if (name.rfind("vmlinux-", 0) == 0 && name.find(".tmp-") == std::string::npos) {
      if (name == kept_vmlinux) continue;
      what = fmt::format("removed the VM stacks' extracted kernel {}", name.substr(0, 24));
    } else {
      continue;
    }
    if (fs::remove(e.path(), file_ec)) removed.push_back(std::move(what));
  }
  return removed;
}

std::vector<std::string> clear_vm_cache(const fs::path& cache_dir) {
  std::error_code ec;
  if (!fs::is_directory(cache_dir / "vm", ec)) return {};
  std::string kept_vmlinux;
  try {
    const std::set<std::string> kept = cached_rootfs_identities(cache_dir);
    std::string reason;
    const KernelChoice kernel = find_kernel_or_reason("", reason);
    if (!kernel.path.empty()) {
      Fd fd(::open(kernel.path.c_str(), O_RDONLY | O_CLOEXEC));
      if (fd) kept_vmlinux = "vmlinux-" + remembered_sha256(fd.get(), kernel.path, cache_dir);
    }
    return clear_vm_files(cache_dir, kept, kept_vmlinux);
  } catch (const Error&) {
    // Nothing is removed when what to keep is unknown; the next prune tries again.
    return {};
  }
}

}  // namespace gatebox::vm
