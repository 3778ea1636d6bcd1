#pragma once
// HTTP requests to the Docker Engine API through libcurl (curl_api.hpp), over the
// endpoint's unix socket or tcp(+TLS). A Transfer is one request on its own easy handle:
// performed at once (call) or driven by a curl multi loop (docker_run.cpp).
#include <curl/curl.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "stack/docker/docker_host.hpp"
#include "util/error.hpp"

namespace gatebox {

// Every path names the API version we speak, so that a newer daemon answers the way this
// code expects (1.41 = Docker 20.10; later daemons still serve it).
inline constexpr const char* kDockerApi = "/v1.41";

// The daemon's explanation in an error response: the JSON "message" (or an "error" /
// "errorDetail.message" of a progress stream), else the body's text, trimmed and cut short.
std::string daemon_message(std::string_view body);
// Percent-encoding of a query parameter's value.
std::string url_encode(std::string_view text);

struct Response {
  long status = 0;
  std::string body;
};

class Transfer {
 public:
  // timeout_ms 0 = no overall limit (streams that last as long as the gate).
  Transfer(const DockerEndpoint& endpoint, std::string_view method, const std::string& path, long timeout_ms,
           long connect_timeout_ms);
  ~Transfer();
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  void set_body(std::string body, const char* content_type = "application/json");
  // A body produced as it is sent (chunked): `read` fills the buffer and returns the bytes
  // written, 0 at the end, or CURL_READFUNC_ABORT.
  void set_upload(std::function<std::size_t(char*, std::size_t)> read, const char* content_type);
  // Streamed response bytes go to `fn` instead of body(); false aborts the transfer.
  void on_data(std::function<bool(std::string_view)> fn) { on_data_ = std::move(fn); }
  // Bodies beyond this are an error (default 16 MiB): nothing the daemon sends us is bigger.
  void set_max_body(std::size_t bytes) { max_body_ = bytes; }

  CURL* handle() const { return easy_; }
  CURLcode perform();               // blocking
  void finished(CURLcode result);   // a multi loop reports the end of the transfer
  bool done() const { return done_; }
  CURLcode result() const { return result_; }
  bool headers_done() const { return headers_done_; }
  long status() const { return status_; }
  const std::string& body() const { return body_; }
  bool body_too_big() const { return body_too_big_; }
  // curl's error text for result(), with its detail buffer.
  std::string error_text() const;
  // True when the failure is that nothing answered at the endpoint.
  bool connect_failed() const;

 private:
  static std::size_t write_cb(char* data, std::size_t size, std::size_t n, void* self);
  static std::size_t header_cb(char* data, std::size_t size, std::size_t n, void* self);
  static std::size_t read_cb(char* data, std::size_t size, std::size_t n, void* self);

  CURL* easy_ = nullptr;
  struct curl_slist* headers_ = nullptr;
  std::string request_body_;
  std::function<bool(std::string_view)> on_data_;
  std::function<std::size_t(char*, std::size_t)> read_;
  std::string body_;
  std::size_t max_body_ = 16u << 20;
  bool body_too_big_ = false;
  bool headers_done_ = false;
  bool done_ = false;
  long status_ = 0;
  CURLcode result_ = CURLE_OK;
  char errbuf_[CURL_ERROR_SIZE] = {};
};

class DockerClient {
 public:
  explicit DockerClient(DockerEndpoint endpoint, long connect_timeout_ms = 5000)
      : endpoint_(std::move(endpoint)), connect_timeout_ms_(connect_timeout_ms) {}
  const DockerEndpoint& endpoint() const { return endpoint_; }

  // `path` after the API version, e.g. "/containers/create?name=x".
  std::unique_ptr<Transfer> transfer(std::string_view method, const std::string& path, long timeout_ms) const;
  // One request, blocking. Throws unreachable() when nothing answers and Error(70) when the
  // transfer fails after connecting; any HTTP status is returned.
  Response call(std::string_view method, const std::string& path, std::string body = "",
                long timeout_ms = 60'000) const;
  // Throws the right Error for a failed transfer (see call()).
  void check_transfer(const Transfer& t, std::string_view what) const;

  // "cannot reach the Docker daemon at unix:///var/run/docker.sock: WHY (is dockerd running? ...)"
  Error unreachable(std::string_view why) const;
  // "WHAT: the Docker daemon answered STATUS: MESSAGE", exit `code`.
  Error api_error(ExitCode code, std::string_view what, const Response& r) const;

 private:
  DockerEndpoint endpoint_;
  long connect_timeout_ms_;
};

}  // namespace gatebox
