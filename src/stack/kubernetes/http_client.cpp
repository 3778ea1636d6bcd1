#include "stack/kubernetes/http_client.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "util/curl_api.hpp"
#include "util/fd.hpp"
#include "util/interrupt.hpp"

namespace gatebox::kube {
namespace {

// Nothing an API server or registry answers to a request (not a stream) comes near this;
// a bigger answer is a wrong URL or a misbehaving server, not something to buffer.
constexpr std::size_t kMaxBody = 64u << 20;
// A stream's error body is a Status object; keep enough of it to explain.
constexpr std::size_t kMaxErrorBody = 1u << 20;
// How often a running transfer looks at stop() and at a pending SIGINT/SIGTERM.
constexpr int kPollMs = 200;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// One transfer on its own easy handle, with the state its callbacks fill in.
class Easy {
 public:
  Easy(const TlsConfig& tls, long connect_timeout_ms, const std::string& url, long timeout_ms)
      : api_(curl_api()), url_(url) {
    h_ = make_easy_handle(url, errbuf_, connect_timeout_ms, timeout_ms, &Easy::write_cb, &Easy::header_cb, this);
    // TLS material from memory (curl copies it): kubeconfigs embed it, and writing keys to
    // temp files would leave them on disk when a run is killed.
    if (!tls.ca_pem.empty()) {
      curl_blob blob{const_cast<char*>(tls.ca_pem.data()), tls.ca_pem.size(), CURL_BLOB_COPY};
      api_.easy_setopt(h_, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (!tls.client_cert_pem.empty()) {
      curl_blob blob{const_cast<char*>(tls.client_cert_pem.data()), tls.client_cert_pem.size(), CURL_BLOB_COPY};
      api_.easy_setopt(h_, CURLOPT_SSLCERT_BLOB, &blob);
      api_.easy_setopt(h_, CURLOPT_SSLCERTTYPE, "PEM");
    }
    if (!tls.client_key_pem.empty()) {
      curl_blob blob{const_cast<char*>(tls.client_key_pem.data()), tls.client_key_pem.size(), CURL_BLOB_COPY};
      api_.easy_setopt(h_, CURLOPT_SSLKEY_BLOB, &blob);
      api_.easy_setopt(h_, CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (tls.insecure_skip_verify) {
      api_.easy_setopt(h_, CURLOPT_SSL_VERIFYPEER, 0L);
      api_.easy_setopt(h_, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    // No "Expect: 100-continue" round trip before bodies.
    add_header("Expect:");
  }
  ~Easy() {
    api_.easy_cleanup(h_);
    api_.slist_free_all(headers_);
  }
  Easy(const Easy&) = delete;
  Easy& operator=(const Easy&) = delete;

  // Gives up when fewer than `bytes_per_s` move for `seconds` in a row: a stalled peer ends
  // the transfer instead of holding it for ever.
  void abort_below(long bytes_per_s, long seconds) {
    api_.easy_setopt(h_, CURLOPT_LOW_SPEED_LIMIT, bytes_per_s);
    api_.easy_setopt(h_, CURLOPT_LOW_SPEED_TIME, seconds);
  }

  void add_header(const std::string& line) {
    headers_ = api_.slist_append(headers_, line.c_str());
    api_.easy_setopt(h_, CURLOPT_HTTPHEADER, headers_);
  }

  void set_method(std::string_view method, std::string body) {
    body_out_ = std::move(body);
    const bool send_body = !body_out_.empty() || method == "POST" || method == "PUT" || method == "PATCH";
    if (method == "GET") {
      api_.easy_setopt(h_, CURLOPT_HTTPGET, 1L);
    } else if (method == "HEAD") {
      api_.easy_setopt(h_, CURLOPT_NOBODY, 1L);
    } else {
      const std::string m(method);
      api_.easy_setopt(h_, CURLOPT_CUSTOMREQUEST, m.c_str());  // copied by curl
    }
    if (send_body && method != "GET" && method != "HEAD") {
      api_.easy_setopt(h_, CURLOPT_POSTFIELDS, body_out_.data());
      api_.easy_setopt(h_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body_out_.size()));
    }
  }

  void set_upload(std::string_view method, const std::filesystem::path& file) {
    upload_path_ = file;
    upload_.reset(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!upload_) throw sys_error("open", file.string());
    struct stat st {};
    if (::fstat(upload_.get(), &st) != 0) throw sys_error("fstat", file.string());
    api_.easy_setopt(h_, CURLOPT_UPLOAD, 1L);  // a PUT with a body from read_cb
    if (method != "PUT") {
      const std::string m(method);
      api_.easy_setopt(h_, CURLOPT_CUSTOMREQUEST, m.c_str());
    }
    api_.easy_setopt(h_, CURLOPT_READFUNCTION, &Easy::read_cb);
    api_.easy_setopt(h_, CURLOPT_READDATA, this);
    api_.easy_setopt(h_, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(st.st_size));
  }

  void set_stream(const std::function<bool(std::string_view)>* sink) { sink_ = sink; }

  // Drives the transfer through a multi handle, so that stop() and signals are looked at
  // every kPollMs even while nothing arrives (curl's progress callback slows to once a
  // second when idle). Returns false when stopped before the end.
  // A SIGINT/SIGTERM that arrives during the transfer aborts it; one that arrived before it
  // started does not: such a request is the clean-up after the interrupt (deleting a Job).
  bool run(const std::function<bool()>& stop) {
    const bool interrupted_before = pending_interrupt() != 0;
    CURLM* multi = api_.multi_init();
    if (multi == nullptr) throw Error(ExitCode::internal, "curl_multi_init failed (out of memory?)");
    struct MultiGuard {
      const CurlApi& api;
      CURLM* m;
      CURL* h;
      ~MultiGuard() {
        api.multi_remove_handle(m, h);
        api.multi_cleanup(m);
      }
    } guard{api_, multi, h_};
    if (CURLMcode mc = api_.multi_add_handle(multi, h_); mc != CURLM_OK) {
      throw make_error(ExitCode::internal, "curl_multi_add_handle: {}", api_.multi_strerror(mc));
    }
    for (;;) {
      int running = 0;
      if (CURLMcode mc = api_.multi_perform(multi, &running); mc != CURLM_OK) {
        throw make_error(ExitCode::internal, "curl_multi_perform: {}", api_.multi_strerror(mc));
      }
      if (running == 0) break;
      if ((!interrupted_before && pending_interrupt() != 0) || (stop && stop())) return false;
      if (CURLMcode mc = api_.multi_poll(multi, nullptr, 0, kPollMs, nullptr); mc != CURLM_OK) {
        throw make_error(ExitCode::internal, "curl_multi_poll: {}", api_.multi_strerror(mc));
      }
    }
    int left = 0;
    while (CURLMsg* msg = api_.multi_info_read(multi, &left)) {
      if (msg->msg == CURLMSG_DONE && msg->easy_handle == h_) result_ = msg->data.result;
    }
    long code = 0;
    if (api_.easy_getinfo(h_, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code != 0) response_.status = code;
    return true;
  }

  // Throws the Error for a failed transfer; returns when it succeeded (or the stream's
  // consumer ended it).
  void check() const {
    if (result_ == CURLE_OK) return;
    if (result_ == CURLE_WRITE_ERROR && sink_stopped_) return;
    if (too_big_) {
      throw make_error(ExitCode::internal, "the answer from {} was larger than {} MiB", url_for_display(url_),
                       kMaxBody >> 20);
    }
    if (!upload_error_.empty()) throw Error(ExitCode::internal, upload_error_);
    if (connect_failed()) throw HttpUnreachable(url_for_display(url_), error_text());
    throw make_error(ExitCode::internal, "the request to {} failed: {}", url_for_display(url_), error_text());
  }

  HttpResponse& response() { return response_; }

 private:
  bool connect_failed() const {
    switch (result_) {
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_RESOLVE_PROXY:
      case CURLE_COULDNT_CONNECT:
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CERTPROBLEM:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_ISSUER_ERROR:
        return true;
      case CURLE_OPERATION_TIMEDOUT:
      case CURLE_GOT_NOTHING:
      case CURLE_RECV_ERROR:
        return response_.status == 0 && !any_header_;
      default:
        return false;
    }
  }

  std::string error_text() const {
    std::string text = errbuf_[0] != '\0' ? std::string(errbuf_) : std::string(api_.easy_strerror(result_));
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
  }

  static std::size_t write_cb(char* data, std::size_t size, std::size_t n, void* self) {
    auto* e = static_cast<Easy*>(self);
    const std::string_view bytes(data, size * n);
    const bool ok_status = e->response_.status >= 200 && e->response_.status < 300;
    if (e->sink_ != nullptr && ok_status) {
      if ((*e->sink_)(bytes)) return bytes.size();
      e->sink_stopped_ = true;
      return 0;
    }
    const std::size_t limit = e->sink_ != nullptr ? kMaxErrorBody : kMaxBody;
    if (e->response_.body.size() + bytes.size() > limit) {
      if (e->sink_ != nullptr) return bytes.size();  // enough of the error kept
      e->too_big_ = true;
      return 0;
    }
    e->response_.body.append(bytes);
    return bytes.size();
  }

  static std::size_t header_cb(char* data, std::size_t size, std::size_t n, void* self) {
    auto* e = static_cast<Easy*>(self);
    const std::string_view line(data, size * n);
    e->any_header_ = true;
    if (line.rfind("HTTP/", 0) == 0) {
      // A new header block ("HTTP/1.1 200 OK"), after a 100 Continue say: start over.
      const std::size_t sp = line.find(' ');
      if (sp != std::string_view::npos) {
        e->response_.status = std::strtol(std::string(line.substr(sp + 1, 3)).c_str(), nullptr, 10);
      }
      e->response_.headers.clear();
      return line.size();
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return line.size();
    const std::string name = lower(trim(line.substr(0, colon)));
    const std::string value(trim(line.substr(colon + 1)));
    auto [it, fresh] = e->response_.headers.emplace(name, value);
    if (!fresh) it->second += ", " + value;
    return line.size();
  }

  static std::size_t read_cb(char* data, std::size_t size, std::size_t n, void* self) {
    auto* e = static_cast<Easy*>(self);
    for (;;) {
      ssize_t r = ::read(e->upload_.get(), data, size * n);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        e->upload_error_ = fmt::format("read {}: {}", e->upload_path_.string(), std::strerror(errno));
        return CURL_READFUNC_ABORT;
      }
      return static_cast<std::size_t>(r);
    }
  }

  const CurlApi& api_;
  std::string url_;
  CURL* h_ = nullptr;
  struct curl_slist* headers_ = nullptr;
  char errbuf_[CURL_ERROR_SIZE] = {};
  std::string body_out_;
  Fd upload_;
  std::filesystem::path upload_path_;
  std::string upload_error_;
  const std::function<bool(std::string_view)>* sink_ = nullptr;
  bool sink_stopped_ = false;
  bool too_big_ = false;
  bool any_header_ = false;
  HttpResponse response_;
  CURLcode result_ = CURLE_OK;
};

}  // namespace

std::string HttpResponse::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

std::string url_escape(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string url_for_display(std::string_view url) { return std::string(url.substr(0, url.find('?'))); }

HttpClient::HttpClient(TlsConfig tls, long connect_timeout_ms)
    : tls_(std::move(tls)), connect_timeout_ms_(connect_timeout_ms) {}

HttpResponse HttpClient::request(std::string_view method, const std::string& url,
                                 const std::vector<std::string>& headers, std::string body, long timeout_ms) const {
  Easy e(tls_, connect_timeout_ms_, url, timeout_ms);
  for (const std::string& h : headers) e.add_header(h);
  e.set_method(method, std::move(body));
  if (!e.run({})) check_interrupt();  // run() only stops early for an interrupt
  e.check();
  return std::move(e.response());
}

HttpResponse HttpClient::upload_file(std::string_view method, const std::string& url,
                                     const std::vector<std::string>& headers, const std::filesystem::path& file,
                                     long timeout_ms) const {
  Easy e(tls_, connect_timeout_ms_, url, timeout_ms);
  for (const std::string& h : headers) e.add_header(h);
  e.set_upload(method, file);
  // No overall limit (a large layer over a slow link), but a registry that stops taking the
  // body (under 1 KiB/s for a minute) ends the push.
  e.abort_below(1024, 60);
  if (!e.run({})) check_interrupt();  // run() only stops early for an interrupt
  e.check();
  return std::move(e.response());
}

long HttpClient::stream(const std::string& url, const std::vector<std::string>& headers,
                        const std::function<bool(std::string_view)>& on_data, const std::function<bool()>& stop,
                        std::string* error_body) const {
  Easy e(tls_, connect_timeout_ms_, url, 0);
  for (const std::string& h : headers) e.add_header(h);
  e.set_method("GET", "");
  e.set_stream(&on_data);
  // Stopped by the caller (or a signal, which the caller's loop sees next): not an error.
  if (e.run(stop)) e.check();
  if (error_body != nullptr) *error_body = e.response().body;
  return e.response().status;
}

}  // namespace gatebox::kube
