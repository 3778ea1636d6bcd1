#pragma once
// Where the Docker daemon is, read the way the docker CLI reads it: stack.docker.host from
// the profile, else DOCKER_HOST, else unix:///var/run/docker.sock; tcp:// with TLS when
// DOCKER_TLS_VERIFY (verify the daemon) or DOCKER_TLS (no verification) is set, with the
// certificates ca.pem, cert.pem and key.pem from DOCKER_CERT_PATH (default ~/.docker).
#include <string>

namespace gatebox {

struct DockerEndpoint {
  std::string socket_path;  // set for a unix socket; then host is empty
  std::string host;         // tcp: name or address (IPv6 without brackets)
  int port = 0;
  bool tls = false;
  bool tls_verify = false;
  std::string ca_file, cert_file, key_file;  // empty = not used
  std::string display;      // as a user would write it: unix:///var/run/docker.sock, tcp://h:2376
  std::string base_url;     // what requests start with: http://docker, https://h:2376
};

// The environment the endpoint depends on, injected so that tests need not change ours.
struct DockerEnv {
  std::string docker_host;
  std::string tls_verify;
  std::string tls;
  std::string cert_path;
  std::string home;
};
DockerEnv docker_env_from_process();

// profile_host: stack.docker.host ("" = not set). Throws Error(65) for a bad profile value,
// Error(64) for a bad DOCKER_HOST, each with an example; Error(65) for a missing certificate.
DockerEndpoint resolve_docker_endpoint(const std::string& profile_host, const DockerEnv& env);

}  // namespace gatebox
