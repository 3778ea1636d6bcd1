#pragma once
// The few Kubernetes API calls the kubernetes stack makes (create a Job, read its status
// and its pod's log, delete it), as JSON over HttpClient, with every failure turned into
// one line that says what to fix: an unreachable server, rejected credentials, an RBAC
// rule that is missing (which verb on which resource in which namespace), or an invalid
// manifest (the server's per-field causes).
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "stack/kubernetes/http_client.hpp"
#include "stack/kubernetes/kube_config.hpp"

namespace gatebox::kube {

class KubeClient {
 public:
  explicit KubeClient(KubeTarget target, long connect_timeout_ms = 5000);
  const KubeTarget& target() const { return target_; }

  // `path` is the API path with its query, e.g. "/apis/batch/v1/namespaces/gates/jobs".
  // Throw the Errors of api_error() (and unreachable(): 69).
  nlohmann::json get(const std::string& path);
  nlohmann::json post(const std::string& path, const nlohmann::json& body);
  // 404 is fine (already gone): returns null.
  nlohmann::json del(const std::string& path, const nlohmann::json& body = {});
  // nullopt on 404.
  std::optional<nlohmann::json> get_if_exists(const std::string& path);

  // Follows a container's log (follow=true) until it ends, on_data returns false or stop()
  // returns true. Returns the HTTP status: 200 when the log was followed; 400 when the
  // container is not running yet ("ContainerCreating": the caller retries later), with the
  // server's message in *message when given. Other statuses throw as get() does.
  long follow_log(const std::string& ns, const std::string& pod, const std::string& container,
                  const std::function<bool(std::string_view)>& on_data, const std::function<bool()>& stop,
                  std::string* message = nullptr);
  // The container's log as it is now (not followed), at most `limit_bytes`; nullopt when
  // the server has none to give (any non-2xx answer).
  std::optional<std::string> read_log(const std::string& ns, const std::string& pod, const std::string& container,
                                      std::uint64_t limit_bytes);

 private:
  nlohmann::json call(std::string_view method, const std::string& path, const nlohmann::json* body, bool allow_404,
                      bool* found);
  std::vector<std::string> headers(bool json_body) const;

  KubeTarget target_;
  HttpClient http_;
};

// The Error for a non-2xx answer to `method path` (exposed for the unit tests):
//   401 → 69 "the API server at URL rejected the credentials of user U (kubeconfig F)"
//   403 → 69 "forbidden: user "X" may not VERB RESOURCE in namespace "NS" (RBAC: grant ...)"
//   400/422 → 65 with the Status message and its causes; else 70 with the status and message.
Error kube_api_error(const KubeTarget& target, std::string_view method, const std::string& path, long status,
                     std::string_view body);
// The Status object's message (or the body's text, cut short).
std::string kube_status_message(std::string_view body);

}  // namespace gatebox::kube
