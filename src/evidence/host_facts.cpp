#include "evidence/host_facts.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "stack/native/cgroup.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"
#include "util/interrupt.hpp"
#include "util/kvm.hpp"

namespace gatebox {
namespace {

nlohmann::json kvm_fact() {
  const KvmStatus k = kvm_status();
  return {{"usable", k.usable}, {"detail", k.detail}};
}

nlohmann::json cgroup_fact() {
  const CgroupHost host = detect_cgroups();
  const char* version = host.layout == CgroupLayout::v2       ? "v2"
                        : host.layout == CgroupLayout::hybrid ? "hybrid"
                        : host.layout == CgroupLayout::v1     ? "v1"
                                                              : "none";
  return {{"version", version}, {"detail", host.description.empty() ? "no cgroup filesystem" : host.description}};
}

// unshare(CLONE_NEWUSER) in a forked child, optionally after becoming uid/gid 65534 first:
// the sysctls say what should happen, this says what does. Returns "works" or the errno's text.
std::string try_userns(bool as_nobody) {
  Fd r, w;
  {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return fmt::format("pipe: {}", std::strerror(errno));
    r = Fd(p[0]);
    w = Fd(p[1]);
  }
  const pid_t pid = ::fork();
  if (pid < 0) return fmt::format("fork: {}", std::strerror(errno));
  if (pid == 0) {
    int err = 0;
    if (as_nobody && (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 ||
                      ::setresuid(65534, 65534, 65534) != 0)) {
      err = -errno;
    } else if (::unshare(CLONE_NEWUSER) != 0) {
      err = errno;
    }
    ssize_t ignored = ::write(w.get(), &err, sizeof err);
    (void)ignored;
    ::_exit(0);
  }
  w.reset();
  int err = EINTR;
  const ssize_t n = ::read(r.get(), &err, sizeof err);
  int status;
  ::waitpid(pid, &status, 0);
  if (n != sizeof err) return "the test child died";
  if (err == 0) return "works";
  if (err < 0) return fmt::format("could not become uid 65534 to try: {}", std::strerror(-err));
  return fmt::format("{} ({})", std::strerror(err), err == EPERM ? "EPERM" : err == ENOSPC ? "ENOSPC" : "errno " + std::to_string(err));
}

nlohmann::json sysctl_or_null(const char* path) {
  std::string v = read_first_line(path);
  return v.empty() ? nlohmann::json(nullptr) : nlohmann::json(v);
}

nlohmann::json userns_fact() {
  const bool root = ::geteuid() == 0;
  nlohmann::json j = {
      {"as_invoking_user", try_userns(false)},
      {"unprivileged", root ? try_userns(true) : try_userns(false)},
      {"unprivileged_userns_clone", sysctl_or_null("/proc/sys/kernel/unprivileged_userns_clone")},
      {"max_user_namespaces", sysctl_or_null("/proc/sys/user/max_user_namespaces")},
      {"apparmor_restrict_unprivileged_userns", sysctl_or_null("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")},
  };
  return j;
}

nlohmann::json yama_fact() {
  const std::string v = read_first_line("/proc/sys/kernel/yama/ptrace_scope");
  if (v.empty()) return {{"value", nullptr}, {"detail", "no Yama: ptrace follows the classic rules (same uid, or CAP_SYS_PTRACE)"}};
  const char* meaning = v == "0"   ? "classic: any process of the same uid"
                        : v == "1" ? "restricted: only descendants (or a declared tracer)"
                        : v == "2" ? "admin only: CAP_SYS_PTRACE"
                        : v == "3" ? "no attach at all"
                                   : "unknown value";
  return {{"value", std::stoi(v)}, {"detail", fmt::format("{} ({})", v, meaning)}};
}

std::string find_on_path(const std::string& binary) {
  if (binary.find('/') != std::string::npos) return ::access(binary.c_str(), X_OK) == 0 ? binary : "";
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(start, end - start) + "/" + binary;
    if (end > start && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

nlohmann::json version_or_null(const std::string& binary, const std::vector<std::string>& args) {
  std::string line = tool_version_line(binary, args);
  return line.empty() ? nlohmann::json(nullptr) : nlohmann::json(line);
}

}  // namespace

std::string tool_version_line(const std::string& binary, const std::vector<std::string>& args,
                              std::chrono::milliseconds limit) {
  const std::string path = find_on_path(binary);
  if (path.empty()) return "";
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return "";
  Fd r(p[0]), w(p[1]);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(path.c_str()));
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return "";
  if (pid == 0) {
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(w.get(), 1);
    ::dup2(w.get(), 2);
    restore_signals_in_child();
    ::execv(path.c_str(), argv.data());
    ::_exit(127);
  }
  w.reset();
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  bool expired = false;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      expired = true;
      break;
    }
    pollfd pfd{r.get(), POLLIN, 0};
    const int n = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    char buf[4096];
    const ssize_t got = ::read(r.get(), buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    if (out.size() < 64 * 1024) out.append(buf, static_cast<std::size_t>(got));
  }
  if (expired) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (expired || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return "";
  std::size_t start = out.find_first_not_of(" \t\r\n");
  if (start == std::string::npos) return "";
  std::size_t end = out.find('\n', start);
  return out.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

nlohmann::json host_facts() {
  struct utsname u;
  ::uname(&u);
  return {
      {"kernel", u.release},
      {"kvm", kvm_fact()},
      {"cgroup", cgroup_fact()},
      {"user_namespaces", userns_fact()},
      {"yama_ptrace_scope", yama_fact()},
      {"versions",
       {{"runsc", version_or_null("runsc", {"--version"})},
        {"qemu", version_or_null("qemu-system-x86_64", {"--version"})},
        {"firecracker", version_or_null("firecracker", {"--version"})},
        {"docker", nullptr}}},
  };
}

std::vector<std::pair<std::string, std::string>> host_fact_lines(const nlohmann::json& f) {
  std::vector<std::pair<std::string, std::string>> lines;
  auto str = [](const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.is_null() ? "-" : v.dump(); };
  lines.emplace_back("kernel", str(f["kernel"]));
  lines.emplace_back("kvm", std::string(f["kvm"]["usable"].get<bool>() ? "usable: " : "not usable: ") + str(f["kvm"]["detail"]));
  lines.emplace_back("cgroup", str(f["cgroup"]["version"]) + " (" + str(f["cgroup"]["detail"]) + ")");
  const nlohmann::json& u = f["user_namespaces"];
  lines.emplace_back("user namespaces", fmt::format("unshare as this user: {}; as an unprivileged user: {}",
                                                    str(u["as_invoking_user"]), str(u["unprivileged"])));
  lines.emplace_back("userns sysctls", fmt::format("kernel.unprivileged_userns_clone={} user.max_user_namespaces={}",
                                                   str(u["unprivileged_userns_clone"]), str(u["max_user_namespaces"])));
  lines.emplace_back("yama ptrace_scope", str(f["yama_ptrace_scope"]["detail"]));
  for (const auto& [tool, version] : f["versions"].items()) {
    lines.emplace_back(tool, version.is_null() ? "not found" : str(version));
  }
  return lines;
}

}  // namespace gatebox
