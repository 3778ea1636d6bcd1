#pragma once
// One run on the docker stack: image, container, attach + wait + timeout + interrupts in one
// curl multi loop, exit status, verdict file, removal. See docker_run.cpp.
#include "stack/docker/docker_client.hpp"
#include "stack/stack.hpp"

namespace gatebox {

// Labels every container of gatebox carries; the sweep finds leftovers by them.
inline constexpr const char* kRunLabel = "gatebox.run";
inline constexpr const char* kHostLabel = "gatebox.host";

// Which machine's gatebox made a container (a daemon may serve several hosts over tcp).
std::string docker_host_id();

RunOutcome run_docker(const DockerClient& client, const RunRequest& request);

}  // namespace gatebox
