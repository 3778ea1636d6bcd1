#pragma once
// A small blocking HTTP(S) client over libcurl (util/curl_api.hpp) shared by the Kubernetes
// API client and the registry client: both need TLS material held in memory (a kubeconfig
// carries it base64-encoded), response headers (Location, WWW-Authenticate), streamed
// uploads of large blobs and a log stream that a caller can stop.
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace gatebox::kube {

// PEM text, not file names: kubeconfigs embed it, and nothing has to be written to disk.
struct TlsConfig {
  std::string ca_pem;  // empty: the system's CA bundle
  std::string client_cert_pem;
  std::string client_key_pem;
  bool insecure_skip_verify = false;
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names; repeated headers joined by ", "
  // The header's value, or "" (name in lower case).
  std::string header(const std::string& name) const;
};

// Thrown (exit 69) when nothing answered at the URL: connection refused, DNS, TLS handshake
// or certificate failure, connect timeout. Callers that know what the URL is (the API
// server of context C, the registry R) catch it and say so, using why().
class HttpUnreachable : public Error {
 public:
  HttpUnreachable(std::string url, std::string why)
      : Error(ExitCode::unavailable, fmt::format("cannot reach {}: {}", url, why)),
        url_(std::move(url)),
        why_(std::move(why)) {}
  const std::string& url() const { return url_; }
  const std::string& why() const { return why_; }

 private:
  std::string url_;
  std::string why_;
};

// Percent-encoding of a query parameter's value (RFC 3986 unreserved characters kept).
std::string url_escape(std::string_view text);
// The URL without its query string, for messages (queries may carry upload state).
std::string url_for_display(std::string_view url);

class HttpClient {
 public:
  explicit HttpClient(TlsConfig tls = {}, long connect_timeout_ms = 5000);

  // Blocking request. `headers` are whole lines ("Accept: application/json"); a body is sent
  // for every method but GET/HEAD when not empty (and always for POST/PUT/PATCH). Throws
  // HttpUnreachable (69) when nothing answers, Error(70) on other transfer failures
  // (timeout after connecting, a body over 64 MiB), Error(130/143) on SIGINT/SIGTERM.
  // Any HTTP status is returned.
  HttpResponse request(std::string_view method, const std::string& url, const std::vector<std::string>& headers = {},
                       std::string body = "", long timeout_ms = 60'000) const;
  // Uploads a file as the body (PUT of a blob), streaming it with its Content-Length.
  // timeout_ms 0 = no overall limit (a large layer over a slow link); a transfer under
  // 1 KiB/s for 60 s is given up either way (a stalled registry).
  HttpResponse upload_file(std::string_view method, const std::string& url, const std::vector<std::string>& headers,
                           const std::filesystem::path& file, long timeout_ms = 0) const;
  // GET, streaming a 2xx body to on_data until the server ends it, on_data returns false,
  // or stop() returns true (checked at least every 200 ms). A non-2xx body is not passed
  // to on_data but kept in *error_body when given. Returns the status. Throws like request().
  long stream(const std::string& url, const std::vector<std::string>& headers,
              const std::function<bool(std::string_view)>& on_data, const std::function<bool()>& stop,
              std::string* error_body = nullptr) const;

 private:
  TlsConfig tls_;
  long connect_timeout_ms_;
};

}  // namespace gatebox::kube
