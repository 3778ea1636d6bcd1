#pragma once
// Credentials for pushing to a registry, found where `docker login` leaves them, so that a
// user who can push with Docker can push with gatebox: Docker's client config
// ($DOCKER_CONFIG/config.json, else ~/.docker/config.json) with its `credHelpers`,
// `credsStore` and `auths` entries, in Docker's order. Secrets are never printed: messages
// name where the credentials came from and the user name only.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace gatebox::kube {

struct RegistryCredentials {
  std::string username;
  std::string password;
  std::string identity_token;  // an OAuth2 refresh token ("identitytoken", or a helper's "<token>" user)
  std::string source;          // for messages: "/root/.docker/config.json" or "docker-credential-pass"
};

// $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json (may not exist).
std::filesystem::path docker_config_path();

// The credentials for `host` ("registry.example.com", "10.0.0.2:5000"): credHelpers[host],
// else credsStore, else auths[host] (whose keys may carry a scheme and a path, as older
// Docker versions wrote them; Docker Hub's is "https://index.docker.io/v1/"). nullopt when
// the file does not exist or has none for the host. Throws Error(69) naming the file (and
// the key) when it is malformed, or naming the helper when it fails other than with
// "credentials not found".
std::optional<RegistryCredentials> find_registry_credentials(std::string_view host,
                                                             const std::filesystem::path& config = docker_config_path());

// "Basic <base64(user:password)>", the value of an Authorization header.
std::string basic_authorization(const RegistryCredentials& c);

// Whether `url` goes to `host` over `scheme` ("https", "registry.example.com:443" vs
// "registry.example.com" count as one): credentials and tokens are sent nowhere else, e.g.
// not to an upload Location a registry points at another host.
bool same_origin(std::string_view url, std::string_view scheme, std::string_view host);

// Whether credentials may go to the token service at `realm`: over https, or over http to
// the host of a registry that is itself plain http (the profile said http://), on any port.
bool may_send_credentials_to(std::string_view realm, std::string_view registry_scheme, std::string_view registry_host);

}  // namespace gatebox::kube
