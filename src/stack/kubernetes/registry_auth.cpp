#include "stack/kubernetes/registry_auth.hpp"

#include <cctype>
#include <cstdlib>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/base64.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/helper_process.hpp"
#include "util/text.hpp"

namespace gatebox::kube {
namespace fs = std::filesystem;
namespace {

constexpr int kHelperTimeoutMs = 30'000;  // a helper may ask a keyring, or the user, for a passphrase

// Docker Hub's registry is reached at registry-1.docker.io, but `docker login` stores it
// under its old index address.
bool is_docker_hub(std::string_view host) {
  return host == "docker.io" || host == "index.docker.io" || host == "registry-1.docker.io";
}

// An `auths` key as Docker writes it ("host", "https://host", "http://host/v1/") reduced to
// its host.
std::string key_host(std::string_view key) {
  if (const std::size_t s = key.find("://"); s != std::string_view::npos) key.remove_prefix(s + 3);
  if (const std::size_t slash = key.find('/'); slash != std::string_view::npos) key = key.substr(0, slash);
  return std::string(key);
}

bool key_matches(std::string_view key, std::string_view host) {
  const std::string h = key_host(key);
  return h == host || (is_docker_hub(host) && is_docker_hub(h));
}

// `docker-credential-NAME get`, the host on its stdin: {"ServerURL","Username","Secret"}.
std::optional<RegistryCredentials> from_helper(const std::string& name, std::string_view host,
                                               const fs::path& config) {
  const std::string program = "docker-credential-" + name;
  const std::string server = is_docker_hub(host) ? "https://index.docker.io/v1/" : std::string(host);
  HelperResult r;
  try {
    r = run_helper({program, "get"}, server + "\n", kHelperTimeoutMs);
  } catch (const Error& e) {
    if (e.code() != ExitCode::unavailable) throw;
    throw make_error(ExitCode::unavailable, "{} names the credential helper '{}', but {} is not installed",
                     config.string(), name, program);
  }
  // Docker reads "not found" from stdout. The message quotes stderr only: stdout may hold
  // the secret.
  const std::string said = one_line(r.err, 300);
  if (r.exit_code != 0) {
    if (r.out.find("credentials not found") != std::string::npos) return std::nullopt;
    if (r.timed_out) {
      throw make_error(ExitCode::unavailable, "the credential helper {} did not answer for {} within {} s", program,
                       host, kHelperTimeoutMs / 1000);
    }
    throw make_error(ExitCode::unavailable, "the credential helper {} failed for {}: {}", program, host,
                     said.empty() ? fmt::format("exit code {}", r.exit_code) : said);
  }
  const nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  if (!j.is_object() || !j.contains("Secret") || !j["Secret"].is_string()) {
    throw make_error(ExitCode::unavailable, "the credential helper {} answered for {} without a \"Secret\"", program,
                     host);
  }
  RegistryCredentials c;
  c.source = program;
  const std::string user =
      j.contains("Username") && j["Username"].is_string() ? j["Username"].get<std::string>() : std::string();
  // A helper stores an identity token (OAuth2 refresh token) under the user "<token>".
  if (user == "<token>") c.identity_token = j["Secret"].get<std::string>();
  else {
    c.username = user;
    c.password = j["Secret"].get<std::string>();
  }
  return c;
}

std::string string_field(const nlohmann::json& entry, const char* key, const fs::path& config,
                         const std::string& where) {
  if (!entry.contains(key)) return {};
  if (!entry[key].is_string()) {
    throw make_error(ExitCode::unavailable, "{}: {}.{} must be a string", config.string(), where, key);
  }
  return entry[key].get<std::string>();
}

}  // namespace

fs::path docker_config_path() {
  if (const char* dir = std::getenv("DOCKER_CONFIG"); dir != nullptr && *dir != '\0') {
    return fs::path(dir) / "config.json";
  }
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') return {};
  return fs::path(home) / ".docker" / "config.json";
}

std::optional<RegistryCredentials> find_registry_credentials(std::string_view host, const fs::path& config) {
  if (config.empty()) return std::nullopt;
  std::error_code ec;
  if (!fs::exists(config, ec)) return std::nullopt;
  const std::optional<std::string> text = read_file(config);
  if (!text) throw make_error(ExitCode::unavailable, "cannot read {} (Docker's client config)", config.string());
  const nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object()) {
    throw make_error(ExitCode::unavailable, "{} is not a JSON object (Docker's client config; `docker login` writes it)",
                     config.string());
  }

  // Docker's order: a helper for this registry, else the store for all, else the file.
  if (j.contains("credHelpers") && j["credHelpers"].is_object()) {
    for (const auto& [key, helper] : j["credHelpers"].items()) {
      if (!key_matches(key, host)) continue;
      if (!helper.is_string() || helper.get<std::string>().empty()) {
        throw make_error(ExitCode::unavailable, "{}: credHelpers[\"{}\"] must name a helper", config.string(), key);
      }
      return from_helper(helper.get<std::string>(), host, config);
    }
  }
  if (j.contains("credsStore") && j["credsStore"].is_string() && !j["credsStore"].get<std::string>().empty()) {
    return from_helper(j["credsStore"].get<std::string>(), host, config);
  }
  if (!j.contains("auths") || !j["auths"].is_object()) return std::nullopt;
  // The key spelled as Docker writes it today first, then any other spelling of the host.
  std::vector<std::string> keys{is_docker_hub(host) ? std::string("https://index.docker.io/v1/") : std::string(host)};
  for (const auto& [key, entry] : j["auths"].items()) {
    if (key != keys.front() && key_matches(key, host)) keys.push_back(key);
  }
  for (const std::string& key : keys) {
    if (!j["auths"].contains(key)) continue;
    const nlohmann::json& entry = j["auths"].at(key);
    const std::string where = "auths[\"" + key + "\"]";
    if (!entry.is_object()) throw make_error(ExitCode::unavailable, "{}: {} must be an object", config.string(), where);
    RegistryCredentials c;
    c.source = config.string();
    c.identity_token = string_field(entry, "identitytoken", config, where);
    c.username = string_field(entry, "username", config, where);
    c.password = string_field(entry, "password", config, where);
    if (const std::string auth = string_field(entry, "auth", config, where); !auth.empty()) {
      const std::string pair = decode_base64(auth, config.string() + ": " + where + ".auth");
      const std::size_t colon = pair.find(':');
      if (colon == std::string::npos) {
        throw make_error(ExitCode::unavailable, "{}: {}.auth is not base64 of \"user:password\"", config.string(),
                         where);
      }
      c.username = pair.substr(0, colon);
      c.password = pair.substr(colon + 1);
    }
    if (c.username.empty() && c.password.empty() && c.identity_token.empty()) continue;  // a placeholder
    return c;
  }
  return std::nullopt;
}

std::string basic_authorization(const RegistryCredentials& c) {
  return "Basic " + encode_base64(c.username + ":" + c.password);
}

namespace {

struct UrlOrigin {
  std::string scheme;
  std::string host;  // lower case, without a default port
  std::string name;  // the host without any port
};

// The scheme and host of an absolute URL; nullopt for a relative one, or one with user
// information (user@host), to which gatebox sends no secret.
std::optional<UrlOrigin> origin_of(std::string_view url) {
  const std::size_t s = url.find("://");
  if (s == std::string_view::npos) return std::nullopt;
  UrlOrigin o;
  o.scheme = std::string(url.substr(0, s));
  std::string_view rest = url.substr(s + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (rest.empty() || rest.find('@') != std::string_view::npos) return std::nullopt;
  o.host = std::string(rest);
  for (char& c : o.host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string default_port = o.scheme == "https" ? ":443" : ":80";
  if (o.host.size() > default_port.size() && o.host.ends_with(default_port)) {
    o.host.resize(o.host.size() - default_port.size());
  }
  const std::size_t colon = o.host.rfind(':');
  o.name = colon != std::string::npos && o.host.find(']', colon) == std::string::npos ? o.host.substr(0, colon) : o.host;
  return o;
}

}  // namespace

bool same_origin(std::string_view url, std::string_view scheme, std::string_view host) {
  const std::optional<UrlOrigin> a = origin_of(url);
  const std::optional<UrlOrigin> b = origin_of(std::string(scheme) + "://" + std::string(host));
  return a && b && a->scheme == b->scheme && a->host == b->host;
}

bool may_send_credentials_to(std::string_view realm, std::string_view registry_scheme, std::string_view registry_host) {
  const std::optional<UrlOrigin> a = origin_of(realm);
  if (!a) return false;
  if (a->scheme == "https") return true;
  const std::optional<UrlOrigin> b = origin_of(std::string(registry_scheme) + "://" + std::string(registry_host));
  return a->scheme == "http" && b && b->scheme == "http" && a->name == b->name;
}

}  // namespace gatebox::kube
