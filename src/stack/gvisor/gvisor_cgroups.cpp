#include "util/process.hpp"
#include "stack/gvisor/gvisor_cgroups.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "util/error.hpp"
#include "util/fs.hpp"

namespace gatebox {
namespace {

namespace fs = std::filesystem;


// Kills the processes left in one cgroup directory and removes it; true when it is gone.
bool kill_and_remove(const fs::path& dir) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    std::istringstream procs(read_file(dir / "cgroup.procs").value_or(""));
    for (long pid; procs >> pid;) ::kill(static_cast<pid_t>(pid), SIGKILL);
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return true;
    if (errno != EBUSY) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace

std::vector<CgroupMount> parse_cgroup_mounts(std::string_view mountinfo) {
  std::vector<CgroupMount> out;
  std::istringstream in{std::string(mountinfo)};
  for (std::string line; std::getline(in, line);) {
    // "36 25 0:31 / /sys/fs/cgroup/memory rw,... shared:15 - cgroup cgroup rw,memory"
    const auto sep = line.find(" - ");
    if (sep == std::string::npos) continue;
    std::istringstream head(line.substr(0, sep)), tail(line.substr(sep + 3));
    std::string id, parent, devno, root, mount_point, fstype, source, options;
    head >> id >> parent >> devno >> root >> mount_point;
    tail >> fstype >> source >> options;
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    CgroupMount m;
    m.dir = mount_point;
    m.v2 = fstype == "cgroup2";
    if (!m.v2) {
      std::istringstream opts(options);
      for (std::string o; std::getline(opts, o, ',');) m.memory = m.memory || o == "memory";
    }
    out.push_back(m);
  }
  return out;
}

std::vector<CgroupMount> cgroup_mounts() {
  std::vector<CgroupMount> mounts = parse_cgroup_mounts(read_file("/proc/self/mountinfo").value_or(""));
  for (CgroupMount& m : mounts) {
    if (m.v2) m.memory = read_file(m.dir / "cgroup.controllers").value_or("").find("memory") != std::string::npos;
  }
  return mounts;
}

std::vector<std::string> remove_cgroup_everywhere(const std::vector<CgroupMount>& mounts, const std::string& rel) {
  std::vector<std::string> removed;
  for (const CgroupMount& m : mounts) {
    const fs::path dir = m.dir / fs::path(rel).relative_path();
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    if (kill_and_remove(dir)) removed.push_back(dir.string());
  }
  return removed;
}

std::vector<std::string> sweep_dead_gatebox_cgroups(const std::vector<CgroupMount>& mounts) {
  std::vector<std::string> removed;
  for (const CgroupMount& m : mounts) {
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(m.dir / "gatebox", ec)) {
      const std::string name = e.path().filename().string();
      char* end = nullptr;
      const long owner = std::strtol(name.c_str(), &end, 10);
      if (owner <= 0 || end == nullptr || *end != '-' || !e.is_directory(ec)) continue;
      if (process_alive(static_cast<pid_t>(owner))) continue;
      if (kill_and_remove(e.path())) removed.push_back("cgroup " + e.path().string());
    }
  }
  return removed;
}

OomWatch OomWatch::open(const std::vector<CgroupMount>& mounts, const std::string& rel) {
  OomWatch w;
  for (const CgroupMount& m : mounts) {
    if (!m.memory) continue;
    const fs::path dir = m.dir / fs::path(rel).relative_path();
    if (m.v2) {
      w.counter_path_ = (dir / "memory.events").string();
      w.fd_.reset(::open(w.counter_path_.c_str(), O_RDONLY | O_CLOEXEC));
      w.v2_ = true;
    } else {
      w.counter_path_ = (dir / "memory.oom_control").string();
      w.control_fd_.reset(::open(w.counter_path_.c_str(), O_RDONLY | O_CLOEXEC));
      w.fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
      const std::string reg = fmt::format("{} {}", w.fd_.get(), w.control_fd_.get());
      Fd ctl(::open((dir / "cgroup.event_control").c_str(), O_WRONLY | O_CLOEXEC));
      if (!w.control_fd_ || !ctl || ::write(ctl.get(), reg.data(), reg.size()) < 0) w.fd_.reset();
    }
    if (w.fd_) break;
  }
  return w;
}

void OomWatch::update() {
  if (!fd_) return;
  if (!v2_) {
    std::uint64_t n = 0;
    if (::read(fd_.get(), &n, sizeof n) < 0 && errno != EAGAIN) fd_.reset();
  }
  // Read by path: after the cgroup is removed the read fails, and what was seen stays.
  const std::string text = read_file(counter_path_).value_or("");
  if (parse_oom_kill_count(text) > 0) oom_killed_ = true;
  // The cgroup is gone: its file would report an error to every poll from now on.
  if (text.empty()) fd_.reset();
}

}  // namespace gatebox
