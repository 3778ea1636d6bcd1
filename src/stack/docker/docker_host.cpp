#include "stack/docker/docker_host.hpp"

#include <sys/stat.h>

#include <cstdlib>

#include "util/error.hpp"

namespace gatebox {
namespace {

constexpr const char* kDefaultSocket = "/var/run/docker.sock";
constexpr const char* kExample = "write e.g. unix:///var/run/docker.sock or tcp://build-host:2376";

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

struct Source {
  std::string label;  // "stack.docker.host" or "DOCKER_HOST"
  ExitCode code;
};

Error bad_host(const Source& src, const std::string& value, const std::string& why) {
  return make_error(src.code, "{} = '{}': {}; {}", src.label, value, why, kExample);
}

void parse_tcp(const Source& src, const std::string& value, std::string rest, DockerEndpoint& ep) {
  // The docker CLI ignores a trailing "/" and has no use for a path here.
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.find('/') != std::string::npos) throw bad_host(src, value, "a tcp address takes no path");
  std::string host, port;
  if (!rest.empty() && rest.front() == '[') {
    const std::size_t close = rest.find(']');
    if (close == std::string::npos) throw bad_host(src, value, "unclosed '[' in an IPv6 address");
    host = rest.substr(1, close - 1);
    std::string after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') throw bad_host(src, value, "expected ':PORT' after the IPv6 address");
      port = after.substr(1);
    }
  } else {
    const std::size_t colon = rest.rfind(':');
    if (colon != std::string::npos && rest.find(':') != colon) {
      throw bad_host(src, value, "an IPv6 address needs brackets, as in tcp://[::1]:2376");
    }
    host = rest.substr(0, colon);
    if (colon != std::string::npos) port = rest.substr(colon + 1);
  }
  if (host.empty()) throw bad_host(src, value, "no host name");
  if (host.find_first_of(" \t@?#") != std::string::npos) throw bad_host(src, value, "not a host name");
  if (port.empty()) {
    ep.port = ep.tls ? 2376 : 2375;  // the docker CLI's defaults
  } else {
    char* end = nullptr;
    long p = std::strtol(port.c_str(), &end, 10);
    if (*end != '\0' || p < 1 || p > 65535) throw bad_host(src, value, "'" + port + "' is not a port number");
    ep.port = static_cast<int>(p);
  }
  ep.host = host;
  const bool v6 = host.find(':') != std::string::npos;
  const std::string hostport = (v6 ? "[" + host + "]" : host) + ":" + std::to_string(ep.port);
  ep.display = "tcp://" + hostport;
  ep.base_url = std::string(ep.tls ? "https://" : "http://") + hostport;
}

void add_certificates(const DockerEnv& env, DockerEndpoint& ep) {
  std::string dir = env.cert_path;
  if (dir.empty()) dir = env.home.empty() ? std::string(".docker") : env.home + "/.docker";
  const std::string ca = dir + "/ca.pem", cert = dir + "/cert.pem", key = dir + "/key.pem";
  if (ep.tls_verify) {
    if (!file_exists(ca)) {
      throw make_error(ExitCode::bad_input,
                       "DOCKER_TLS_VERIFY is set but {} is missing: put the daemon's CA certificate there or set "
                       "DOCKER_CERT_PATH to the directory holding ca.pem, cert.pem and key.pem",
                       ca);
    }
    ep.ca_file = ca;
  }
  const bool have_cert = file_exists(cert), have_key = file_exists(key);
  if (have_cert != have_key) {
    throw make_error(ExitCode::bad_input, "{} is missing: a client certificate needs both cert.pem and key.pem in {}",
                     have_cert ? key : cert, dir);
  }
  if (have_cert) {
    ep.cert_file = cert;
    ep.key_file = key;
  }
}

}  // namespace

DockerEnv docker_env_from_process() {
  return DockerEnv{env_or_empty("DOCKER_HOST"), env_or_empty("DOCKER_TLS_VERIFY"), env_or_empty("DOCKER_TLS"),
                   env_or_empty("DOCKER_CERT_PATH"), env_or_empty("HOME")};
}

DockerEndpoint resolve_docker_endpoint(const std::string& profile_host, const DockerEnv& env) {
  Source src = !profile_host.empty() ? Source{"stack.docker.host", ExitCode::bad_input}
                                     : Source{"DOCKER_HOST", ExitCode::usage};
  std::string value = !profile_host.empty() ? profile_host : env.docker_host;
  if (value.empty()) value = std::string("unix://") + kDefaultSocket;

  DockerEndpoint ep;
  if (value.rfind("unix://", 0) == 0) {
    ep.socket_path = value.substr(7);
    if (ep.socket_path.empty() || ep.socket_path.front() != '/') {
      throw bad_host(src, value, "a unix socket needs an absolute path");
    }
    ep.display = value;
    // The host name is never looked up: the request goes down the socket.
    ep.base_url = "http://docker";
    return ep;
  }
  if (value.rfind("tcp://", 0) == 0) {
    ep.tls_verify = !env.tls_verify.empty();
    ep.tls = ep.tls_verify || !env.tls.empty();
    parse_tcp(src, value, value.substr(6), ep);
    if (ep.tls) add_certificates(env, ep);
    return ep;
  }
  const std::size_t scheme = value.find("://");
  if (scheme != std::string::npos) {
    throw bad_host(src, value, "gatebox speaks to the daemon over unix:// or tcp:// only, not " +
                                   value.substr(0, scheme) + "://");
  }
  throw bad_host(src, value, "not an address (it needs unix:// or tcp://)");
}

}  // namespace gatebox
