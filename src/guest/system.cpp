#include "guest/system.hpp"

#include "stack/etc_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace gatebox::guest {
namespace {

constexpr unsigned long kNoSuidDev = MS_NOSUID | MS_NODEV;
// /proc entries that reach into the guest kernel: a uid-0 gate (capabilities dropped, but
// still the owner of these files) could otherwise crash or reboot the guest through them.
constexpr const char* kReadonlyProc[] = {"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs"};

// A mount point the rootfs made a symlink or a file (hostile or careless images) is
// replaced by a directory: everything here is the guest's own RAM, so unlinking it harms
// nothing, and mounting through a symlink would put /proc wherever the image chose.
void ensure_dir(const char* path, mode_t mode) {
  struct stat st {};
  if (::lstat(path, &st) == 0 && !S_ISDIR(st.st_mode) && ::unlink(path) != 0) {
    throw_errno(std::string("unlink ") + path, errno);
  }
  if (::mkdir(path, mode) != 0 && errno != EEXIST) throw_errno(std::string("mkdir ") + path, errno);
}

void mount_at(const char* source, const char* target, const char* type, unsigned long flags,
              const std::string& data, mode_t dir_mode = 0755) {
  ensure_dir(target, dir_mode);
  if (::mount(source, target, type, flags, data.empty() ? nullptr : data.c_str()) != 0) {
    throw_errno(std::string("mount ") + target, errno);
  }
}

void bind_readonly(const std::string& path, bool optional) {
  if (::mount(path.c_str(), path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    if (optional && errno == ENOENT) return;
    throw_errno("bind mount " + path, errno);
  }
  if (::mount(nullptr, path.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | kNoSuidDev, nullptr) != 0) {
    throw_errno("remount " + path + " read-only", errno);
  }
}

void remove_below(int dir_fd, const std::string& shown) {
  DIR* d = ::fdopendir(dir_fd);
  if (d == nullptr) {
    int e = errno;
    ::close(dir_fd);
    throw_errno("opendir " + shown, e);
  }
  while (dirent* ent = ::readdir(d)) {
    const char* name = ent->d_name;
    if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0) continue;
    if (::unlinkat(::dirfd(d), name, 0) == 0) continue;
    if (errno != EISDIR) {
      int e = errno;
      ::closedir(d);
      throw_errno("unlink " + shown + "/" + name, e);
    }
    int sub = ::openat(::dirfd(d), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) {
      int e = errno;
      ::closedir(d);
      throw_errno("open " + shown + "/" + name, e);
    }
    remove_below(sub, shown + "/" + name);
    if (::unlinkat(::dirfd(d), name, AT_REMOVEDIR) != 0) {
      int e = errno;
      ::closedir(d);
      throw_errno("rmdir " + shown + "/" + name, e);
    }
  }
  ::closedir(d);
}

}  // namespace

void throw_errno(const std::string& what, int err) { throw SetupError(what + ": " + std::strerror(err)); }

void mount_dev() { mount_at("devtmpfs", "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755"); }

void mount_system(const vm::Job& job) {
  mount_at("proc", "/proc", "proc", kNoSuidDev | MS_NOEXEC, "");
  mount_at("sysfs", "/sys", "sysfs", kNoSuidDev | MS_NOEXEC | MS_RDONLY, "");
  // newinstance: the gate's pseudo-terminals live in their own devpts, not the kernel's
  // initial one; /dev/ptmx (devtmpfs) resolves to the pts/ptmx beside it.
  mount_at("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
  const std::uint64_t shm = job.disk == 0 ? 64ULL << 20 : std::min<std::uint64_t>(job.disk, 64ULL << 20);
  mount_at("tmpfs", "/dev/shm", "tmpfs", kNoSuidDev | MS_NOEXEC, "mode=1777,size=" + std::to_string(shm), 01777);
  const std::pair<const char*, const char*> links[] = {{"/proc/self/fd", "/dev/fd"},
                                                       {"/proc/self/fd/0", "/dev/stdin"},
                                                       {"/proc/self/fd/1", "/dev/stdout"},
                                                       {"/proc/self/fd/2", "/dev/stderr"}};
  for (const auto& [text, link] : links) {
    if (::symlink(text, link) != 0 && errno != EEXIST) throw_errno(std::string("symlink ") + link, errno);
  }
  // Inodes are bounded too: empty files cost no blocks, so size alone does not stop an
  // inode bomb (the same budget as the native stack's scratch space).
  std::string tmp_data = "mode=1777";
  if (job.disk != 0) {
    tmp_data += ",size=" + std::to_string(job.disk) +
                ",nr_inodes=" + std::to_string(std::max<std::uint64_t>(job.disk / 4096, 4096));
  }
  mount_at("tmpfs", "/tmp", "tmpfs", kNoSuidDev, tmp_data, 01777);
  lock_kernel();
  for (const char* p : kReadonlyProc) bind_readonly(p, true);
}

void lock_kernel() {
  // Both are one-way switches: once set, nothing in this boot, uid 0 with every capability
  // included, loads a module or a new kernel. The agent needs neither. A kernel built
  // without modules or kexec lacks the file: nothing to lock there.
  for (const char* knob : {"/proc/sys/kernel/modules_disabled", "/proc/sys/kernel/kexec_load_disabled"}) {
    const int fd = ::open(knob, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      throw_errno(std::string("open ") + knob, errno);
    }
    const ssize_t w = ::write(fd, "1", 1);
    const int e = errno;
    ::close(fd);
    if (w != 1) throw_errno(std::string("write ") + knob, w < 0 ? e : EIO);
  }
}

void write_etc_files(const vm::Job& job) {
  ensure_dir("/etc", 0755);
  for (const EtcFile& f : etc_files(job.hostname)) {
    const std::string path = "/etc/" + f.name;
    // Whatever the image has there goes, a symlink included: the new file is never written
    // through one.
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) throw_errno("unlink " + path, errno);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) throw_errno("create " + path, errno);
    const ssize_t w = ::write(fd, f.text.data(), f.text.size());
    const int e = errno;
    ::fchmod(fd, 0644);
    ::close(fd);
    if (w != static_cast<ssize_t>(f.text.size())) throw_errno("write " + path, w < 0 ? e : EIO);
  }
}

void make_cwd(const vm::Job& job) {
  for (std::size_t slash = job.cwd.find('/', 1);; slash = job.cwd.find('/', slash + 1)) {
    const std::string part = job.cwd.substr(0, slash);
    if (part.size() > 1 && ::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) {
      throw_errno("mkdir " + part + " (run.cwd)", errno);
    }
    if (slash == std::string::npos) break;
  }
}

void apply_readonly(const vm::Job& job) {
  for (const vm::JobMount& m : job.mounts) {
    if (m.readonly) bind_readonly(m.target, false);
  }
  if (job.root_readonly) {
    // The root is the initramfs (rootfs, a tmpfs the kernel will not let us move or
    // pivot away from). A bind remount changes only this mount's read-only flag, not the
    // superblock's, so the tmpfs mounts stacked on it (/tmp, /dev/shm) stay writable.
    if (::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) {
      throw_errno("remount / read-only", errno);
    }
  }
}

void remove_tree(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return;
    throw_errno("open " + path, errno);
  }
  remove_below(fd, path);
  if (::rmdir(path.c_str()) != 0) throw_errno("rmdir " + path, errno);
}

void set_hostname(const std::string& name) {
  if (::sethostname(name.data(), name.size()) != 0) throw_errno("sethostname " + name, errno);
}

void loopback_up() {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) throw_errno("socket for lo", errno);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  int rc = ::ioctl(s, SIOCGIFFLAGS, &ifr);
  if (rc == 0) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    rc = ::ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  const int e = errno;
  ::close(s);
  if (rc != 0) throw_errno("bring up lo", e);
}

std::string read_at(int dir_fd, const char* name) {
  int fd = ::openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 && out.size() < (1u << 20)) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

bool write_at(int dir_fd, const char* name, const std::string& value) {
  int fd = ::openat(dir_fd, name, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const ssize_t n = ::write(fd, value.data(), value.size());
  const int e = errno;
  ::close(fd);
  errno = e;
  return n == static_cast<ssize_t>(value.size());
}

std::uint64_t keyed_value(const std::string& text, const std::string& key) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + pos, end - pos);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ' ') {
      return std::strtoull(std::string(line.substr(key.size() + 1)).c_str(), nullptr, 10);
    }
    pos = end + 1;
  }
  return 0;
}

GateCgroup make_gate_cgroup(const vm::Job& job) {
  mount_at("cgroup2", "/sys/fs/cgroup", "cgroup2", kNoSuidDev | MS_NOEXEC, "");
  int root = ::open("/sys/fs/cgroup", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) throw_errno("open /sys/fs/cgroup", errno);
  // One controller at a time: a kernel without the cpu controller can still run a job
  // that sets no cpu limit. memory is always wanted, for the OOM count.
  const std::pair<const char*, bool> controllers[] = {
      {"+memory", true}, {"+pids", job.pids != 0}, {"+cpu", job.cpus > 0}};
  for (const auto& [ctl, needed] : controllers) {
    if (!write_at(root, "cgroup.subtree_control", ctl) && needed) {
      throw_errno(std::string("enable ") + (ctl + 1) + " in /sys/fs/cgroup/cgroup.subtree_control", errno);
    }
  }
  if (::mkdirat(root, "gate", 0755) != 0) throw_errno("mkdir /sys/fs/cgroup/gate", errno);
  GateCgroup cg;
  cg.dir = ::openat(root, "gate", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ::close(root);
  if (cg.dir < 0) throw_errno("open /sys/fs/cgroup/gate", errno);
  auto set = [&](const char* file, const std::string& value) {
    if (!write_at(cg.dir, file, value)) throw_errno(std::string("write ") + value + " to /sys/fs/cgroup/gate/" + file, errno);
  };
  if (job.memory != 0) {
    set("memory.max", std::to_string(job.memory));
    // No swap in the guest; a kernel built without swap accounting has no such file.
    if (!write_at(cg.dir, "memory.swap.max", "0") && errno != ENOENT) {
      throw_errno("write 0 to /sys/fs/cgroup/gate/memory.swap.max", errno);
    }
  }
  if (job.pids != 0) set("pids.max", std::to_string(job.pids));
  if (job.cpus > 0) {
    const auto quota = static_cast<std::uint64_t>(job.cpus * 100000.0 + 0.5);
    set("cpu.max", std::to_string(std::max<std::uint64_t>(quota, 1000)) + " 100000");
  }
  cg.procs = ::openat(cg.dir, "cgroup.procs", O_WRONLY | O_CLOEXEC);
  if (cg.procs < 0) throw_errno("open /sys/fs/cgroup/gate/cgroup.procs", errno);
  if (::umount2("/sys/fs/cgroup", MNT_DETACH) != 0) throw_errno("umount /sys/fs/cgroup", errno);
  return cg;
}

}  // namespace gatebox::guest
