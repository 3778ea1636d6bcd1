#include "stack/docker/docker_client.hpp"

#include <nlohmann/json.hpp>

#include "util/curl_api.hpp"
#include "util/text.hpp"

namespace gatebox {
namespace {

std::string trim_and_cut(std::string_view text) { return one_line(text, 500); }

}  // namespace

std::string daemon_message(std::string_view body) {
  // A progress stream (image import) is one JSON object a line; the error is in one of them.
  std::size_t start = 0;
  while (start < body.size()) {
    std::size_t end = body.find('\n', start);
    if (end == std::string_view::npos) end = body.size();
    const std::string_view line = body.substr(start, end - start);
    start = end + 1;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) continue;
    if (auto it = j.find("message"); it != j.end() && it->is_string()) return trim_and_cut(it->get<std::string>());
    if (auto it = j.find("errorDetail"); it != j.end() && it->is_object()) {
      if (auto m = it->find("message"); m != it->end() && m->is_string()) return trim_and_cut(m->get<std::string>());
    }
    if (auto it = j.find("error"); it != j.end() && it->is_string()) return trim_and_cut(it->get<std::string>());
  }
  std::string text = trim_and_cut(body);
  return text.empty() ? "(no message)" : text;
}

std::string url_encode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

Transfer::Transfer(const DockerEndpoint& ep, std::string_view method, const std::string& path, long timeout_ms,
                   long connect_timeout_ms) {
  const CurlApi& api = curl_api();
  const std::string url = ep.base_url + kDockerApi + path;
  easy_ = make_easy_handle(url, errbuf_, connect_timeout_ms, timeout_ms, &Transfer::write_cb, &Transfer::header_cb,
                           this);
  if (!ep.socket_path.empty()) api.easy_setopt(easy_, CURLOPT_UNIX_SOCKET_PATH, ep.socket_path.c_str());
  if (ep.tls) {
    api.easy_setopt(easy_, CURLOPT_SSL_VERIFYPEER, ep.tls_verify ? 1L : 0L);
    api.easy_setopt(easy_, CURLOPT_SSL_VERIFYHOST, ep.tls_verify ? 2L : 0L);
    if (!ep.ca_file.empty()) api.easy_setopt(easy_, CURLOPT_CAINFO, ep.ca_file.c_str());
    if (!ep.cert_file.empty()) {
      api.easy_setopt(easy_, CURLOPT_SSLCERT, ep.cert_file.c_str());
      api.easy_setopt(easy_, CURLOPT_SSLKEY, ep.key_file.c_str());
    }
  }
  if (method == "POST") {
    api.easy_setopt(easy_, CURLOPT_POST, 1L);
    set_body("");
  } else if (method != "GET") {
    const std::string m(method);
    api.easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, m.c_str());  // copied by curl
  }
  // No "Expect: 100-continue" round trip for bodies over 1 KiB.
  headers_ = api.slist_append(headers_, "Expect:");
  api.easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
}

Transfer::~Transfer() {
  const CurlApi& api = curl_api();
  api.easy_cleanup(easy_);
  api.slist_free_all(headers_);
}

void Transfer::set_body(std::string body, const char* content_type) {
  const CurlApi& api = curl_api();
  request_body_ = std::move(body);
  api.easy_setopt(easy_, CURLOPT_POSTFIELDS, request_body_.data());
  api.easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request_body_.size()));
  if (!request_body_.empty()) {
    headers_ = api.slist_append(headers_, fmt::format("Content-Type: {}", content_type).c_str());
    api.easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
  }
}

void Transfer::set_upload(std::function<std::size_t(char*, std::size_t)> read, const char* content_type) {
  const CurlApi& api = curl_api();
  read_ = std::move(read);
  api.easy_setopt(easy_, CURLOPT_POSTFIELDS, nullptr);
  api.easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(-1));
  api.easy_setopt(easy_, CURLOPT_READFUNCTION, &Transfer::read_cb);
  api.easy_setopt(easy_, CURLOPT_READDATA, this);
  headers_ = api.slist_append(headers_, "Transfer-Encoding: chunked");
  headers_ = api.slist_append(headers_, fmt::format("Content-Type: {}", content_type).c_str());
  api.easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
}

CURLcode Transfer::perform() {
  finished(curl_api().easy_perform(easy_));
  return result_;
}

void Transfer::finished(CURLcode result) {
  done_ = true;
  result_ = result;
  long code = 0;
  if (curl_api().easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code != 0) status_ = code;
}

std::string Transfer::error_text() const {
  if (body_too_big_) return fmt::format("the answer was larger than {} bytes", max_body_);
  std::string text = curl_api().easy_strerror(result_);
  if (errbuf_[0] != '\0') text = errbuf_;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

bool Transfer::connect_failed() const {
  if (result_ == CURLE_COULDNT_CONNECT || result_ == CURLE_COULDNT_RESOLVE_HOST) return true;
  if (result_ == CURLE_OPERATION_TIMEDOUT || result_ == CURLE_SSL_CONNECT_ERROR) {
    long connected = 0;
    curl_api().easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &connected);
    return connected == 0 && !headers_done_;
  }
  return false;
}

std::size_t Transfer::write_cb(char* data, std::size_t size, std::size_t n, void* self) {
  auto* t = static_cast<Transfer*>(self);
  const std::string_view bytes(data, size * n);
  if (t->on_data_) return t->on_data_(bytes) ? bytes.size() : 0;
  if (t->body_.size() + bytes.size() > t->max_body_) {
    t->body_too_big_ = true;
    return 0;
  }
  t->body_.append(bytes);
  return bytes.size();
}

std::size_t Transfer::header_cb(char* data, std::size_t size, std::size_t n, void* self) {
  auto* t = static_cast<Transfer*>(self);
  const std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    // "HTTP/1.1 200 OK": a new header block (after a 100 Continue, say).
    const std::size_t sp = line.find(' ');
    if (sp != std::string_view::npos) t->status_ = std::strtol(std::string(line.substr(sp + 1, 3)).c_str(), nullptr, 10);
    t->headers_done_ = false;
  } else if (line == "\r\n" || line == "\n") {
    if (t->status_ >= 200) t->headers_done_ = true;
  }
  return line.size();
}

std::size_t Transfer::read_cb(char* data, std::size_t size, std::size_t n, void* self) {
  auto* t = static_cast<Transfer*>(self);
  return t->read_(data, size * n);
}

std::unique_ptr<Transfer> DockerClient::transfer(std::string_view method, const std::string& path,
                                                 long timeout_ms) const {
  return std::make_unique<Transfer>(endpoint_, method, path, timeout_ms, connect_timeout_ms_);
}

void DockerClient::check_transfer(const Transfer& t, std::string_view what) const {
  if (t.result() == CURLE_OK) return;
  if (t.connect_failed()) throw unreachable(t.error_text());
  throw make_error(ExitCode::internal, "{}: the request to the Docker daemon at {} failed: {}", what,
                   endpoint_.display, t.error_text());
}

Response DockerClient::call(std::string_view method, const std::string& path, std::string body,
                            long timeout_ms) const {
  std::unique_ptr<Transfer> t = transfer(method, path, timeout_ms);
  if (!body.empty()) t->set_body(std::move(body));
  t->perform();
  check_transfer(*t, fmt::format("{} {}", method, path.substr(0, path.find('?'))));
  return Response{t->status(), t->body()};
}

Error DockerClient::unreachable(std::string_view why) const {
  return make_error(ExitCode::unavailable,
                    "cannot reach the Docker daemon at {}: {} (is dockerd running? set DOCKER_HOST or stack.docker.host)",
                    endpoint_.display, why);
}

Error DockerClient::api_error(ExitCode code, std::string_view what, const Response& r) const {
  return make_error(code, "{}: the Docker daemon at {} answered {}: {}", what, endpoint_.display, r.status,
                    daemon_message(r.body));
}

}  // namespace gatebox
