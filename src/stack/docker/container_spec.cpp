#include "stack/docker/container_spec.hpp"

#include <algorithm>
#include <cmath>

#include "policy/docker_seccomp.hpp"
#include "util/error.hpp"

namespace gatebox {

std::string container_name(const std::string& run_id) { return "gatebox-" + run_id; }

nlohmann::json render_container_create(const ContainerSpecInput& in) {
  const Profile& p = in.profile;
  nlohmann::json env = nlohmann::json::array();
  for (const auto& [name, value] : p.run.env) env.push_back(name + "=" + value);

  nlohmann::json binds = nlohmann::json::array();
  int index = 0;
  for (const ResolvedMount& m : in.mounts) {
    ++index;
    if (m.source.find_first_of(":,") != std::string::npos || m.target.find_first_of(":,") != std::string::npos) {
      throw make_error(ExitCode::bad_input,
                       "mount {} ({} -> {}): the docker stack cannot bind a path holding ':' or ','; rename it or "
                       "use another stack",
                       index, m.source, m.target);
    }
    binds.push_back(fmt::format("{}:{}:{}", m.source, m.target, m.readonly ? "ro" : "rw"));
  }

  nlohmann::json security = nlohmann::json::array({"no-new-privileges"});
  security.push_back(in.seccomp.unconfined ? std::string("seccomp=unconfined")
                                           : "seccomp=" + render_docker_seccomp(in.seccomp).dump());

  // A size-limited /tmp like the native stack's; nosuid/nodev because nothing there needs them.
  // "exec" because Docker mounts a tmpfs noexec unless told otherwise, and a gate that
  // builds a test binary into /tmp must run it as on every other stack.
  // Inodes are bounded as on the native stack: empty files cost no blocks, so size alone
  // does not stop an inode bomb (tmpfs's default is half the host's RAM pages).
  nlohmann::json tmpfs = {{"/tmp", fmt::format("rw,exec,nosuid,nodev,size={},nr_inodes={},mode=1777", p.limits.disk,
                                               std::max<std::uint64_t>(p.limits.disk / 4096, 4096))}};

  const auto nofile = static_cast<std::int64_t>(p.limits.open_files);
  nlohmann::json host_config = {
      // Docker's "none" network still gives the container its own network namespace with
      // lo up: nothing leaves it, but 127.0.0.1 works inside. So profile mode "none" (no
      // interfaces at all on the native stack) and "loopback" are the same here; the gate
      // sees an isolated lo in both.
      {"NetworkMode", "none"},
      {"CapDrop", {"ALL"}},
      {"SecurityOpt", security},
      {"Privileged", false},
      {"Devices", nlohmann::json::array()},
      {"Binds", binds},
      {"Memory", p.limits.memory},
      {"MemorySwap", p.limits.memory},  // equal to Memory: no swap on top
      {"PidsLimit", p.limits.pids},
      {"NanoCpus", static_cast<std::int64_t>(std::llround(p.limits.cpus * 1e9))},
      {"Ulimits", {{{"Name", "nofile"}, {"Soft", nofile}, {"Hard", nofile}}}},
      {"Tmpfs", tmpfs},
      // Docker's /etc/hosts names the hostname only on networks that give an address; every
      // other stack maps it to 127.0.1.1 (stack/etc_files), so a gate can resolve itself.
      {"ExtraHosts", {p.run.hostname + ":127.0.1.1"}},
      {"ShmSize", std::min<std::uint64_t>(p.limits.disk, 64ULL << 20)},
      {"IpcMode", "private"},
      // Docker's default on a cgroup v1 host is the host's cgroup namespace: the gate would
      // see the host's cgroup paths. Private, as native and a cgroup v2 daemon give it.
      {"CgroupnsMode", "private"},
      // Output reaches us through attach; a log driver would also keep a copy on the daemon's disk.
      {"LogConfig", {{"Type", "none"}, {"Config", nlohmann::json::object()}}},
      {"AutoRemove", false},  // we remove it ourselves, after reading the exit status and verdict file
  };
  if (!p.stack.docker.runtime.empty()) host_config["Runtime"] = p.stack.docker.runtime;

  return {
      {"Image", in.image},
      {"Cmd", p.run.argv},
      {"Entrypoint", nlohmann::json::array()},
      {"Env", env},
      {"WorkingDir", p.run.cwd},
      {"User", fmt::format("{}:{}", p.run.uid, p.run.gid)},
      {"Hostname", p.run.hostname},
      {"AttachStdin", false},
      {"AttachStdout", true},
      {"AttachStderr", true},
      {"OpenStdin", false},
      {"Tty", false},
      {"Labels", {{"gatebox.run", in.run_id}, {"gatebox.gate", p.name}, {"gatebox.host", in.host_id}}},
      {"HostConfig", host_config},
  };
}

}  // namespace gatebox
