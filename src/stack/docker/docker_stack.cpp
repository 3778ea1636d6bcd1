// The docker stack (docs/ARCHITECTURE.md §4.5): the Docker Engine API through libcurl,
// never the docker CLI. The run itself is in docker_run.cpp; this file is the Stack
// interface: probe, run, the sweep of what SIGKILLed runs left, and the image cache.
#include "util/process.hpp"
#include "stack/docker/docker_stack.hpp"

#include <signal.h>

#include <set>

#include <nlohmann/json.hpp>

#include "rootfs/rootfs.hpp"
#include "rootfs/tree_identity.hpp"
#include "stack/docker/container_spec.hpp"
#include "stack/docker/docker_client.hpp"
#include "stack/docker/docker_run.hpp"
#include "stack/docker/image_import.hpp"

namespace gatebox {
namespace {

// The docker CLI's filter syntax: {"label": ["key"]}, URL-encoded.
std::string label_filter(const std::string& label) {
  return url_encode(nlohmann::json({{"label", {label}}}).dump());
}

nlohmann::json get_json(const DockerClient& client, const std::string& path, long timeout_ms) {
  Response r = client.call("GET", path, "", timeout_ms);
  if (r.status != 200) throw client.api_error(ExitCode::unavailable, "GET " + path.substr(0, path.find('?')), r);
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded()) {
    throw make_error(ExitCode::unavailable, "GET {}: the Docker daemon at {} answered with something that is not JSON",
                     path, client.endpoint().display);
  }
  return j;
}

std::string str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number()) return it->dump();
  return "";
}


class DockerStack final : public Stack {
 public:
  std::string_view name() const override { return "docker"; }

  Availability probe_host() const override { return probe(""); }
  // Asks the daemon over its socket; executes nothing, so the mode does not matter.
  Availability probe_for(const Profile& profile, ProbeMode) const override { return probe(profile.stack.docker.host); }

  // `host` is stack.docker.host, or empty for DOCKER_HOST / the default socket.
  Availability probe(const std::string& host) const {
    Availability a;
    try {
      // Quick on purpose: `gatebox stacks` must not hang on a host with no daemon.
      DockerClient client(resolve_docker_endpoint(host, docker_env_from_process()), 2000);
      a.details.emplace_back("daemon", client.endpoint().display);
      nlohmann::json version = get_json(client, "/version", 5000);
      a.details.emplace_back("docker", str(version, "Version"));
      a.details.emplace_back("api", str(version, "ApiVersion"));
      nlohmann::json info = get_json(client, "/info", 5000);
      a.details.emplace_back("storage driver", str(info, "Driver"));
      a.details.emplace_back("cgroup", "v" + str(info, "CgroupVersion") + " (" + str(info, "CgroupDriver") + ")");
      std::string runtimes;
      if (info.contains("Runtimes") && info["Runtimes"].is_object()) {
        for (const auto& [rt, _] : info["Runtimes"].items()) runtimes += (runtimes.empty() ? "" : ", ") + rt;
      }
      a.details.emplace_back("runtimes", runtimes.empty() ? "none" : runtimes);
      a.available = true;
    } catch (const Error& e) {
      a.reason = e.what();
    }
    return a;
  }

  std::string describe(const RunRequest& request) const override {
    const std::string image = request.rootfs.sha256.empty() && request.rootfs.dir.empty()
                                  ? std::string(kImageRepo) + ":<digest of the image>"
                                  : rootfs_image_name(request.rootfs).ref();
    const nlohmann::json spec = render_container_create(ContainerSpecInput{
        request.profile, request.seccomp, request.mounts, image, request.run_id, docker_host_id()});
    return fmt::format("POST /containers/create?name={}\n{}", container_name(request.run_id), spec.dump(2));
  }

  RunOutcome run(const RunRequest& request) override {
    DockerClient client(resolve_docker_endpoint(request.profile.stack.docker.host, docker_env_from_process()));
    return run_docker(client, request);
  }

  // Containers of this host's gatebox runs whose gatebox is gone (the run id starts with
  // its pid). Never throws: a sweep must not stop a run or `cache prune`.
  std::vector<std::string> sweep(const std::filesystem::path&) override {
    std::vector<std::string> removed;
    try {
      DockerClient client(resolve_docker_endpoint("", docker_env_from_process()), 2000);
      nlohmann::json list = get_json(client, "/containers/json?all=1&filters=" + label_filter(kRunLabel), 10'000);
      const std::string host = docker_host_id();
      for (const nlohmann::json& c : list) {
        if (!c.is_object() || !c.contains("Labels") || !c["Labels"].is_object()) continue;
        const nlohmann::json& labels = c["Labels"];
        if (labels.value(kHostLabel, "") != host) continue;
        const std::string run = labels.value(kRunLabel, "");
        const long pid = std::strtol(run.c_str(), nullptr, 10);
        if (pid <= 0 || process_alive(static_cast<pid_t>(pid))) continue;
        const std::string id = str(c, "Id");
        Response r = client.call("DELETE", "/containers/" + id + "?force=1&v=1", "", 60'000);
        if (r.status == 204) removed.push_back("container gatebox-" + run + " (docker)");
      }
    } catch (const Error&) {
      // No daemon, no leftovers we could remove; the next sweep tries again.
    }
    return removed;
  }

  // After `cache prune|clear`: the images this cache's runs imported whose cache entry is
  // gone, and those of `dir` rootfs trees (they have no entry). Images another cache's runs
  // imported stay (images of a gatebox that did not label them are taken as this cache's);
  // so does an image a container still uses.
  std::vector<std::string> clear_cache(const std::filesystem::path& cache_dir) override {
    std::vector<std::string> removed;
    const std::set<std::string> kept = cached_rootfs_identities(cache_dir);
    const std::string this_cache = cache_label_value(cache_dir);
    try {
      DockerClient client(resolve_docker_endpoint("", docker_env_from_process()), 2000);
      nlohmann::json list = get_json(client, "/images/json?filters=" + label_filter(kRootfsLabel), 30'000);
      for (const nlohmann::json& img : list) {
        if (!img.is_object() || !img.contains("Labels") || !img["Labels"].is_object()) continue;
        const std::string digest = img["Labels"].value(kRootfsLabel, "");
        const std::string owner = img["Labels"].value(kCacheLabel, this_cache);
        if (kept.count(digest) != 0 || owner != this_cache) continue;
        const std::string id = str(img, "Id");
        Response r = client.call("DELETE", "/images/" + url_encode(id) + "?force=0", "", 60'000);
        if (r.status == 200) {
          removed.push_back(fmt::format("removed docker image {} ({})", id.substr(0, 19), digest.substr(0, 16)));
        }
      }
    } catch (const Error&) {
      // No daemon here: nothing of ours to remove on it.
    }
    return removed;
  }
};

}  // namespace

std::unique_ptr<Stack> make_docker_stack() { return std::make_unique<DockerStack>(); }

}  // namespace gatebox
