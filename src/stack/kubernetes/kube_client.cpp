#include "stack/kubernetes/kube_client.hpp"

#include <vector>

#include "util/text.hpp"

namespace gatebox::kube {
namespace {

std::string cut(std::string_view text) { return one_line(text, 500); }

// What an API path addresses, for RBAC messages: "/apis/batch/v1/namespaces/gates/jobs/x".
struct PathInfo {
  std::string group, ns, resource, name, subresource;
};

PathInfo parse_api_path(const std::string& path) {
  std::vector<std::string> seg;
  const std::string p = path.substr(0, path.find('?'));
  std::size_t start = 0;
  while (start < p.size()) {
    std::size_t end = p.find('/', start);
    if (end == std::string::npos) end = p.size();
    if (end > start) seg.push_back(p.substr(start, end - start));
    start = end + 1;
  }
  PathInfo info;
  std::size_t i = 0;
  if (seg.size() >= 2 && seg[0] == "api") {
    i = 2;
  } else if (seg.size() >= 3 && seg[0] == "apis") {
    info.group = seg[1];
    i = 3;
  } else {
    return info;
  }
  if (i + 1 < seg.size() && seg[i] == "namespaces") {
    if (i + 2 == seg.size()) {  // the namespace object itself
      info.resource = "namespaces";
      info.name = seg[i + 1];
      return info;
    }
    info.ns = seg[i + 1];
    i += 2;
  }
  if (i < seg.size()) info.resource = seg[i];
  if (i + 1 < seg.size()) info.name = seg[i + 1];
  if (i + 2 < seg.size()) info.subresource = seg[i + 2];
  return info;
}

std::string rbac_verb(std::string_view method, const PathInfo& info, const std::string& path) {
  if (method == "GET") {
    if (!info.name.empty()) return "get";
    return path.find("watch=true") != std::string::npos ? "watch" : "list";
  }
  if (method == "POST") return "create";
  if (method == "PUT") return "update";
  if (method == "PATCH") return "patch";
  if (method == "DELETE") return info.name.empty() ? "deletecollection" : "delete";
  return std::string(method);
}

// The authenticated user as the server names it in a Forbidden message:
// `jobs.batch is forbidden: User "viewer" cannot create resource ...`.
std::string forbidden_user(std::string_view message) {
  const std::string_view key = "User \"";
  const std::size_t at = message.find(key);
  if (at == std::string_view::npos) return {};
  const std::size_t end = message.find('"', at + key.size());
  if (end == std::string_view::npos) return {};
  return std::string(message.substr(at + key.size(), end - at - key.size()));
}

}  // namespace

std::string kube_status_message(std::string_view body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object()) {
    if (auto it = j.find("message"); it != j.end() && it->is_string() && !it->get<std::string>().empty()) {
      return cut(it->get<std::string>());
    }
  }
  std::string text = cut(body);
  return text.empty() ? "(no message)" : text;
}

Error kube_api_error(const KubeTarget& target, std::string_view method, const std::string& path, long status,
                     std::string_view body) {
  const std::string message = kube_status_message(body);
  const std::string shown_path = path.substr(0, path.find('?'));
  if (status == 401) {
    return make_error(ExitCode::unavailable,
                      "the API server at {} rejected the credentials of user '{}' (kubeconfig {}, context {}): {}",
                      target.server, target.user, target.source, target.context, message);
  }
  if (status == 403) {
    PathInfo info = parse_api_path(path);
    nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
    if (info.resource.empty() && j.is_object() && j.contains("details") && j["details"].is_object()) {
      info.resource = j["details"].value("kind", "");
      info.group = j["details"].value("group", "");
    }
    std::string user = forbidden_user(message);
    if (user.empty()) user = target.user;
    const std::string verb = rbac_verb(method, info, path);
    const std::string rbac_resource = info.subresource.empty() ? info.resource : info.resource + "/" + info.subresource;
    const std::string shown = info.group.empty() ? rbac_resource : rbac_resource + "." + info.group;
    if (info.ns.empty()) {
      return make_error(ExitCode::unavailable,
                        "forbidden: user \"{}\" may not {} {} (RBAC: grant the verb \"{}\" on \"{}\" in a ClusterRole)",
                        user, verb, shown, verb, rbac_resource);
    }
    return make_error(ExitCode::unavailable,
                      "forbidden: user \"{}\" may not {} {} in namespace \"{}\" (RBAC: grant the verb \"{}\" on \"{}\" in "
                      "\"{}\")",
                      user, verb, shown, info.ns, verb, rbac_resource, info.ns);
  }
  if (status == 400 || status == 422) {
    std::string causes;
    nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_object() && j.contains("details") && j["details"].is_object() && j["details"].contains("causes") &&
        j["details"]["causes"].is_array()) {
      for (const nlohmann::json& c : j["details"]["causes"]) {
        if (!c.is_object()) continue;
        const std::string field = c.value("field", "");
        const std::string text = c.value("message", "");
        const std::string one = field.empty() ? text : field + ": " + text;
        // The message usually repeats the causes already; add only what it lacks.
        if (!one.empty() && message.find(one) == std::string::npos) causes += (causes.empty() ? "" : "; ") + one;
      }
    }
    return make_error(ExitCode::bad_input, "the API server at {} refused {} {}: {}{}", target.server, method, shown_path,
                      message, causes.empty() ? "" : " (" + causes + ")");
  }
  return make_error(ExitCode::internal, "{} {}: the API server at {} answered {}: {}", method, shown_path, target.server,
                    status, message);
}

KubeClient::KubeClient(KubeTarget target, long connect_timeout_ms)
    : target_(std::move(target)), http_(target_.tls, connect_timeout_ms) {}

std::vector<std::string> KubeClient::headers(bool json_body) const {
  std::vector<std::string> h{"Accept: application/json", "User-Agent: gatebox/" GATEBOX_VERSION};
  if (json_body) h.emplace_back("Content-Type: application/json");
  if (!target_.token.empty()) h.push_back("Authorization: Bearer " + target_.token);
  return h;
}

nlohmann::json KubeClient::call(std::string_view method, const std::string& path, const nlohmann::json* body,
                                bool allow_404, bool* found) {
  const bool has_body = body != nullptr && !body->is_null();
  HttpResponse r;
  try {
    r = http_.request(method, target_.server + path, headers(has_body), has_body ? body->dump() : std::string());
  } catch (const HttpUnreachable& e) {
    throw make_error(ExitCode::unavailable, "cannot reach the Kubernetes API server at {} (context {}): {}",
                     target_.server, target_.context, e.why());
  }
  if (found != nullptr) *found = r.status != 404;
  if (r.status == 404 && allow_404) return nullptr;
  if (r.status < 200 || r.status >= 300) throw kube_api_error(target_, method, path, r.status, r.body);
  if (r.body.empty()) return nullptr;
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded()) {
    throw make_error(ExitCode::internal, "{} {}: the API server at {} answered with something that is not JSON: {}",
                     method, path.substr(0, path.find('?')), target_.server, cut(r.body));
  }
  return j;
}

nlohmann::json KubeClient::get(const std::string& path) { return call("GET", path, nullptr, false, nullptr); }

nlohmann::json KubeClient::post(const std::string& path, const nlohmann::json& body) {
  return call("POST", path, &body, false, nullptr);
}

nlohmann::json KubeClient::del(const std::string& path, const nlohmann::json& body) {
  return call("DELETE", path, &body, true, nullptr);
}

std::optional<nlohmann::json> KubeClient::get_if_exists(const std::string& path) {
  bool found = true;
  nlohmann::json j = call("GET", path, nullptr, true, &found);
  if (!found) return std::nullopt;
  return j;
}

long KubeClient::follow_log(const std::string& ns, const std::string& pod, const std::string& container,
                            const std::function<bool(std::string_view)>& on_data, const std::function<bool()>& stop,
                            std::string* message) {
  const std::string path = fmt::format("/api/v1/namespaces/{}/pods/{}/log?container={}&follow=true", url_escape(ns),
                                       url_escape(pod), url_escape(container));
  std::string error_body;
  long status = 0;
  try {
    status = http_.stream(target_.server + path, headers(false), on_data, stop, &error_body);
  } catch (const HttpUnreachable& e) {
    throw make_error(ExitCode::unavailable, "cannot reach the Kubernetes API server at {} (context {}): {}",
                     target_.server, target_.context, e.why());
  }
  if (message != nullptr) *message = status >= 300 ? kube_status_message(error_body) : std::string();
  if (status == 0 || (status >= 200 && status < 300) || status == 400) return status;
  throw kube_api_error(target_, "GET", path, status, error_body);
}

std::optional<std::string> KubeClient::read_log(const std::string& ns, const std::string& pod,
                                                const std::string& container, std::uint64_t limit_bytes) {
  const std::string path = fmt::format("/api/v1/namespaces/{}/pods/{}/log?container={}&limitBytes={}", url_escape(ns),
                                       url_escape(pod), url_escape(container), std::max<std::uint64_t>(limit_bytes, 1));
  HttpResponse r;
  try {
    r = http_.request("GET", target_.server + path, headers(false));
  } catch (const HttpUnreachable& e) {
    throw make_error(ExitCode::unavailable, "cannot reach the Kubernetes API server at {} (context {}): {}",
                     target_.server, target_.context, e.why());
  }
  if (r.status < 200 || r.status >= 300) return std::nullopt;
  return std::move(r.body);
}

}  // namespace gatebox::kube
