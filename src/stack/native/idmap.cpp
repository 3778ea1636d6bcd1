#include "stack/native/idmap.hpp"

#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/fs.hpp"

namespace gatebox {
namespace {

constexpr std::uint32_t kFirstId = 1U << 30;
constexpr std::uint32_t kSlots = (1U << 30) / kSandboxIds;

std::string id_map(std::uint32_t base) { return fmt::format("0 {} {}\n", base, kSandboxIds); }

bool write_map(pid_t pid, const char* file, const std::string& text) {
  const std::string path = fmt::format("/proc/{}/{}", pid, file);
  Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  return fd && ::write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size());
}

// A user namespace with the sandbox's mapping, for mount_setattr to idmap with: held by a
// child that waits on a pipe until its namespace has been opened, then exits.
Fd user_namespace_for(std::uint32_t base, std::string& why) {
  int hold[2];
  if (::pipe2(hold, O_CLOEXEC) != 0) {
    why = fmt::format("pipe: {}", std::strerror(errno));
    return Fd();
  }
  const pid_t pid = static_cast<pid_t>(::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, nullptr));
  if (pid == 0) {
    char c;
    ::close(hold[1]);
    (void)!::read(hold[0], &c, 1);
    ::_exit(0);
  }
  ::close(hold[0]);
  Fd ns;
  if (pid < 0) {
    why = fmt::format("clone(CLONE_NEWUSER): {}", std::strerror(errno));
  } else if (!write_map(pid, "uid_map", id_map(base)) || !write_map(pid, "gid_map", id_map(base))) {
    why = fmt::format("writing the id maps: {}", std::strerror(errno));
  } else {
    ns.reset(::open(fmt::format("/proc/{}/ns/user", pid).c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns) why = fmt::format("opening its user namespace: {}", std::strerror(errno));
  }
  ::close(hold[1]);
  if (pid > 0) {
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  return ns;
}

}  // namespace

std::uint32_t pick_id_base() {
  std::uint32_t r = 0;
  if (::getrandom(&r, sizeof r, 0) != static_cast<ssize_t>(sizeof r)) r = static_cast<std::uint32_t>(::getpid());
  return kFirstId + (r % kSlots) * kSandboxIds;
}

std::optional<Fd> idmapped_tree(const std::filesystem::path& tree, std::uint32_t base, std::string& why) {
  Fd ns = user_namespace_for(base, why);
  if (!ns) return std::nullopt;
  // Not recursive: the tree is one directory of the cache's file system.
  Fd mnt(static_cast<int>(::open_tree(AT_FDCWD, tree.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)));
  if (!mnt) {
    why = fmt::format("open_tree({}): {}", tree.string(), std::strerror(errno));
    return std::nullopt;
  }
  struct mount_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  attr.userns_fd = static_cast<std::uint64_t>(ns.get());
  if (::mount_setattr(mnt.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) {
    why = fmt::format("idmapping {} (mount_setattr): {}{}", tree.string(), std::strerror(errno),
                      errno == EINVAL ? "; its file system cannot be idmapped" : "");
    return std::nullopt;
  }
  return mnt;
}

void map_id_range(pid_t pid, std::uint32_t base) {
  // setgroups stays allowed: the sandbox drops its supplementary groups itself.
  if (!write_map(pid, "uid_map", id_map(base))) throw sys_error("write", fmt::format("/proc/{}/uid_map", pid));
  if (!write_map(pid, "gid_map", id_map(base))) throw sys_error("write", fmt::format("/proc/{}/gid_map", pid));
}

}  // namespace gatebox
