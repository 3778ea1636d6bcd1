#include "stack/kubernetes/registry_client.hpp"

#include <algorithm>
#include <cctype>
#include <map>

#include <nlohmann/json.hpp>

#include "stack/kubernetes/http_client.hpp"
#include "util/interrupt.hpp"
#include "util/text.hpp"

namespace gatebox::kube {
namespace {

constexpr const char* kExample = "e.g. registry.example.com/gates, or http://10.0.0.2:5000/gates for one without TLS";

// The registry's explanation: the first of its {"errors":[{"code","message","detail"}]},
// else the body's text.
std::string registry_message(std::string_view body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  std::string text;
  if (j.is_object() && j.contains("errors") && j["errors"].is_array() && !j["errors"].empty() &&
      j["errors"][0].is_object()) {
    const nlohmann::json& e = j["errors"][0];
    auto str = [&](const char* key) {
      return e.contains(key) && e[key].is_string() ? e[key].get<std::string>() : std::string();
    };
    const std::string code = str("code");
    text = code.empty() ? str("message") : code + ": " + str("message");
  } else {
    text = std::string(body);
  }
  text = one_line(text, 300);
  return text.empty() ? "(no message)" : text;
}

// "http://..." or "https://..." in any case: an absolute URL (else a path on the registry).
bool is_absolute_http_url(std::string_view s) {
  auto starts = [&](std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
    }
    return true;
  };
  return starts("http://") || starts("https://");
}

// RFC 6750's token68: what may follow "Bearer " in a header. A token service's answer is
// pasted into a request header, so anything else (CR, LF, spaces) is refused.
bool is_token68(std::string_view t) {
  std::size_t i = 0;
  while (i < t.size() && (std::isalnum(static_cast<unsigned char>(t[i])) != 0 ||
                          std::string_view("-._~+/").find(t[i]) != std::string_view::npos)) {
    ++i;
  }
  if (i == 0) return false;
  while (i < t.size() && t[i] == '=') ++i;
  return i == t.size();
}

// A WWW-Authenticate challenge: its scheme in lower case ("bearer", "basic") and its
// parameters, e.g. `Bearer realm="https://auth.example.com/token",service="registry"`.
struct Challenge {
  std::string scheme;
  std::map<std::string, std::string> params;
};

Challenge parse_challenge(std::string_view header) {
  Challenge out;
  std::size_t i = header.find(' ');
  out.scheme = std::string(header.substr(0, i));
  for (char& c : out.scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (i == std::string_view::npos) return out;
  while (i < header.size()) {
    while (i < header.size() && (header[i] == ' ' || header[i] == ',')) ++i;
    const std::size_t eq = header.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string key(header.substr(i, eq - i));  // parameter names are case-insensitive
    for (char& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    i = eq + 1;
    std::string value;
    if (i < header.size() && header[i] == '"') {
      const std::size_t end = header.find('"', i + 1);
      value = std::string(header.substr(i + 1, end == std::string_view::npos ? std::string_view::npos : end - i - 1));
      i = end == std::string_view::npos ? header.size() : end + 1;
    } else {
      const std::size_t end = header.find(',', i);
      value = std::string(header.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i));
      i = end == std::string_view::npos ? header.size() : end;
    }
    out.params[key] = value;
  }
  return out;
}

// Talks to one registry. Requests go out anonymously; a 401 is answered the way its
// challenge asks (a Bearer token from the token service, or Basic credentials), with the
// credentials `docker login` stored (registry_auth.hpp), looked up only then. Tokens and
// credentials go only to the registry's own origin; credentials also to its token service,
// over https (or plain http on the host of a registry the profile names as http://).
class Registry {
 public:
  Registry(const RegistryRef& ref, CredentialsLookup lookup)
      : ref_(ref), base_(ref.scheme + "://" + ref.host), lookup_(std::move(lookup)) {}

  // One request; after a 401 it authenticates as challenged and retries once.
  // The body is `bytes`, or the file `file` when not empty.
  HttpResponse send(std::string_view method, const std::string& path_or_url, std::vector<std::string> headers,
                    const std::string& bytes = {}, const std::filesystem::path& file = {}) {
    const std::string url = is_absolute_http_url(path_or_url) ? path_or_url : base_ + path_or_url;
    const bool ours = same_origin(url, ref_.scheme, ref_.host);
    for (int attempt = 0;; ++attempt) {
      std::vector<std::string> h = headers;
      h.emplace_back("User-Agent: gatebox/" GATEBOX_VERSION);
      sent_authorization_ = ours && !authorization_.empty();
      if (sent_authorization_) h.push_back("Authorization: " + authorization_);
      HttpResponse r;
      try {
        r = file.empty() ? http_.request(method, url, h, bytes, 300'000) : http_.upload_file(method, url, h, file);
      } catch (const HttpUnreachable& e) {
        throw make_error(ExitCode::unavailable, "cannot reach the registry {}://{}: {}{}", ref_.scheme, ref_.host,
                         e.why(),
                         ref_.scheme == "https" ? " (for a registry without TLS, write the registry as http://HOST/REPO)"
                                                : "");
      }
      if (r.status != 401 || attempt > 0 || !ours || !authenticate(r.header("www-authenticate"))) return r;
    }
  }

  Error failure(std::string_view what, const HttpResponse& r) {
    if (r.status == 401 || r.status == 403) {
      // A HEAD's answer has no body to quote.
      const std::string answer = r.body.empty() ? std::to_string(r.status)
                                                : fmt::format("{}: {}", r.status, registry_message(r.body));
      const std::optional<RegistryCredentials>& c = credentials();
      // Nothing was sent (none found, or none that answer this challenge): it wants some.
      if (!c || !sent_authorization_) {
        return make_error(ExitCode::unavailable,
                          "the registry {} wants credentials for {} ({}); `docker login {}` stores them where gatebox "
                          "reads them ({}{})",
                          ref_.host, what, answer, ref_.host, config_for_display(),
                          c ? fmt::format("; those from {} do not answer its challenge", c->source) : "");
      }
      if (r.status == 401) {
        return make_error(ExitCode::unavailable, "the registry {} rejected the credentials of {} for {} ({}) (credentials from {})",
                          ref_.host, who(*c), what, answer, c->source);
      }
      return make_error(ExitCode::unavailable, "the registry {} does not let {} push to {} ({}) (credentials from {})",
                        ref_.host, who(*c), ref_.repository, answer, c->source);
    }
    return make_error(ExitCode::internal, "pushing to the registry {}/{}: {}: it answered {}: {}", ref_.host,
                      ref_.repository, what, r.status, registry_message(r.body));
  }

  const std::string& base() const { return base_; }

 private:
  static std::string who(const RegistryCredentials& c) {
    return c.username.empty() ? std::string("the identity token") : "user '" + c.username + "'";
  }
  static std::string config_for_display() {
    const std::filesystem::path p = docker_config_path();
    return p.empty() ? std::string("$DOCKER_CONFIG/config.json") : p.string();
  }

  const std::optional<RegistryCredentials>& credentials() {
    if (!looked_up_) {
      credentials_ = lookup_(ref_.host);
      looked_up_ = true;
    }
    return credentials_;
  }

  bool authenticate(const std::string& header) {
    const Challenge c = parse_challenge(header);
    if (c.scheme == "bearer") return fetch_token(c);
    if (c.scheme != "basic") return false;
    const std::optional<RegistryCredentials>& creds = credentials();
    if (!creds || creds->username.empty()) return false;
    authorization_ = basic_authorization(*creds);
    return true;
  }

  bool fetch_token(const Challenge& c) {
    auto realm = c.params.find("realm");
    if (realm == c.params.end() || realm->second.empty()) return false;
    if (!is_absolute_http_url(realm->second) ||
        std::any_of(realm->second.begin(), realm->second.end(),
                    [](char ch) { return static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7f; })) {
      throw make_error(ExitCode::unavailable, "the registry {} names a token service that is not an http(s) URL",
                       ref_.host);
    }
    std::string query;
    if (auto s = c.params.find("service"); s != c.params.end()) query += "service=" + url_escape(s->second) + "&";
    query += "scope=" + url_escape("repository:" + ref_.repository + ":pull,push");
    const std::optional<RegistryCredentials>& creds = credentials();
    const std::string& url = realm->second;
    if (creds && !may_send_credentials_to(url, ref_.scheme, ref_.host)) {
      throw make_error(ExitCode::unavailable,
                       "the registry {} sends token requests to {}, which is neither https nor the registry's own "
                       "host: gatebox does not send the credentials from {} there",
                       ref_.host, url_for_display(url), creds->source);
    }
    HttpResponse r;
    try {
      if (creds && !creds->identity_token.empty()) {
        // The OAuth2 refresh-token grant, as `docker login` uses identity tokens.
        r = http_.request("POST", url, {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json"},
                          query + "&grant_type=refresh_token&client_id=gatebox&refresh_token=" +
                              url_escape(creds->identity_token));
      } else {
        std::vector<std::string> h{"Accept: application/json"};
        if (creds) h.push_back("Authorization: " + basic_authorization(*creds));
        r = http_.request("GET", url + (url.find('?') == std::string::npos ? "?" : "&") + query, h);
      }
    } catch (const HttpUnreachable& e) {
      throw make_error(ExitCode::unavailable, "cannot reach the token service {} of the registry {}: {}",
                       url_for_display(url), ref_.host, e.why());
    }
    if (r.status != 200) {
      if (!creds) {
        throw make_error(ExitCode::unavailable,
                         "the registry {} wants a token, and its token service {} refused an anonymous one ({}: {}); "
                         "`docker login {}` stores credentials where gatebox reads them ({})",
                         ref_.host, url_for_display(url), r.status, registry_message(r.body), ref_.host,
                         config_for_display());
      }
      throw make_error(ExitCode::unavailable, "the token service {} of the registry {} refused {} ({}: {}) (credentials from {})",
                       url_for_display(url), ref_.host, who(*creds), r.status, registry_message(r.body), creds->source);
    }
    nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
    std::string token;
    if (j.is_object()) {
      token = j.contains("token") && j["token"].is_string() ? j["token"].get<std::string>() : std::string();
      if (token.empty() && j.contains("access_token") && j["access_token"].is_string()) {
        token = j["access_token"].get<std::string>();
      }
    }
    if (token.empty()) return false;
    if (!is_token68(token)) {
      throw make_error(ExitCode::unavailable,
                       "the token service {} of the registry {} answered a token that cannot go in a header",
                       url_for_display(url), ref_.host);
    }
    authorization_ = "Bearer " + token;
    return true;
  }

  RegistryRef ref_;
  std::string base_;
  CredentialsLookup lookup_;
  HttpClient http_;
  std::string authorization_;  // the whole header value: "Bearer ..." or "Basic ..."
  bool sent_authorization_ = false;  // whether the last request carried it
  std::optional<RegistryCredentials> credentials_;
  bool looked_up_ = false;
};

// Where an upload's PUT goes: the Location of the POST (relative or absolute) plus the digest.
std::string upload_url(const Registry& reg, const std::string& location, const std::string& digest) {
  std::string url = is_absolute_http_url(location) ? location : reg.base() + location;
  url += url.find('?') == std::string::npos ? "?" : "&";
  return url + "digest=" + url_escape(digest);
}

std::string human_bytes(std::uint64_t n) {
  if (n >= (1u << 20)) return fmt::format("{:.1f} MiB", static_cast<double>(n) / (1 << 20));
  if (n >= 1024) return fmt::format("{:.1f} KiB", static_cast<double>(n) / 1024);
  return fmt::format("{} B", n);
}

}  // namespace

RegistryRef parse_registry(std::string_view text) {
  RegistryRef ref;
  std::string_view rest = text;
  if (rest.rfind("http://", 0) == 0) {
    ref.scheme = "http";
    rest.remove_prefix(7);
  } else if (rest.rfind("https://", 0) == 0) {
    rest.remove_prefix(8);
  } else if (rest.find("://") != std::string_view::npos) {
    throw make_error(ExitCode::bad_input, "registry '{}': only http:// and https:// are supported ({})", text, kExample);
  }
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 >= rest.size()) {
    throw make_error(ExitCode::bad_input, "registry '{}' is not HOST/REPOSITORY ({})", text, kExample);
  }
  ref.host = std::string(rest.substr(0, slash));
  ref.repository = std::string(rest.substr(slash + 1));
  for (char c : ref.host) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != ':' && c != '[' && c != ']') {
      throw make_error(ExitCode::bad_input, "registry '{}': '{}' is not a host name ({})", text, ref.host, kExample);
    }
  }
  if (ref.repository.find_first_of(":@") != std::string::npos) {
    throw make_error(ExitCode::bad_input,
                     "registry '{}': give a repository without a tag or digest (gatebox pushes by digest; {})", text,
                     kExample);
  }
  // The distribution spec's grammar: lower-case components separated by '/', each made of
  // [a-z0-9] runs joined by '.', '_', '__' or '-'s; checked loosely.
  bool component_start = true;
  for (char c : ref.repository) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    const bool sep = c == '.' || c == '_' || c == '-';
    if (c == '/' ? component_start : (!alnum && !(sep && !component_start))) {
      throw make_error(ExitCode::bad_input,
                       "registry '{}': repository '{}' must be lower-case letters, digits and . _ - separated by / ({})",
                       text, ref.repository, kExample);
    }
    component_start = c == '/';
  }
  if (component_start) throw make_error(ExitCode::bad_input, "registry '{}' is not HOST/REPOSITORY ({})", text, kExample);
  return ref;
}

PushResult push_image(const RegistryRef& ref, const OciImage& image,
                      const std::function<void(std::string_view)>& progress, const CredentialsLookup& lookup) {
  Registry reg(ref, lookup ? lookup : CredentialsLookup([](std::string_view host) {
    return find_registry_credentials(host);
  }));
  PushResult result;
  result.image = ref.host + "/" + ref.repository + "@" + image.manifest_digest;
  const std::string repo_path = "/v2/" + ref.repository;
  const std::string accept = std::string("Accept: ") + kManifestMediaType;

  // The manifest first: when the registry has it, it has every blob too.
  HttpResponse head = reg.send("HEAD", repo_path + "/manifests/" + image.manifest_digest, {accept});
  if (head.status == 200) return result;
  if (head.status != 404) throw reg.failure("checking for manifest " + image.manifest_digest, head);

  std::vector<const OciBlob*> blobs;
  for (const OciBlob& l : image.layers) blobs.push_back(&l);
  blobs.push_back(&image.config);
  for (const OciBlob* b : blobs) {
    check_interrupt();
    HttpResponse h = reg.send("HEAD", repo_path + "/blobs/" + b->digest, {});
    if (h.status == 200) {
      ++result.blobs_present;
      continue;
    }
    if (h.status != 404) throw reg.failure("checking for blob " + b->digest, h);
    if (progress) progress(fmt::format("pushing {} ({})", b->digest.substr(0, 19), human_bytes(b->size)));
    HttpResponse start = reg.send("POST", repo_path + "/blobs/uploads/", {});
    const std::string location = start.header("location");
    if (start.status != 202 || location.empty()) throw reg.failure("starting the upload of " + b->digest, start);
    const std::vector<std::string> put_headers{"Content-Type: application/octet-stream"};
    const std::string url = upload_url(reg, location, b->digest);
    HttpResponse put = b->file.empty() ? reg.send("PUT", url, put_headers, b->bytes)
                                       : reg.send("PUT", url, put_headers, {}, b->file);
    if (put.status != 201) throw reg.failure("uploading blob " + b->digest, put);
    ++result.blobs_pushed;
    result.bytes_pushed += b->size;
  }

  HttpResponse put = reg.send("PUT", repo_path + "/manifests/" + image.manifest_digest,
                              {std::string("Content-Type: ") + kManifestMediaType}, image.manifest);
  if (put.status != 201) throw reg.failure("putting manifest " + image.manifest_digest, put);
  result.manifest_pushed = true;
  result.bytes_pushed += image.manifest.size();
  return result;
}

}  // namespace gatebox::kube
