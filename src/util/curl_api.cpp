#include "util/curl_api.hpp"

#include <dlfcn.h>

#include <mutex>
#include <string>

#include "util/error.hpp"

namespace gatebox {
namespace {

constexpr const char* kMissing = "the docker and kubernetes stacks need libcurl (apt-get install libcurl4)";

template <typename Fn>
void resolve(void* lib, const char* symbol, Fn& out) {
  void* p = ::dlsym(lib, symbol);
  if (p == nullptr) {
    throw make_error(ExitCode::unavailable, "{}: libcurl.so.4 has no {} (libcurl 7.66 or newer is needed)", kMissing,
                     symbol);
  }
  out = reinterpret_cast<Fn>(p);
}

CurlApi load() {
  // Never unloaded: libcurl keeps global state (TLS back-end) for the life of the process.
  void* lib = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* why = ::dlerror();
    throw make_error(ExitCode::unavailable, "{} ({})", kMissing, why ? why : "dlopen failed");
  }
  CurlApi api{};
  CURLcode (*global_init)(long) = nullptr;
  resolve(lib, "curl_global_init", global_init);
  resolve(lib, "curl_easy_init", api.easy_init);
  resolve(lib, "curl_easy_cleanup", api.easy_cleanup);
  resolve(lib, "curl_easy_setopt", api.easy_setopt);
  resolve(lib, "curl_easy_getinfo", api.easy_getinfo);
  resolve(lib, "curl_easy_perform", api.easy_perform);
  resolve(lib, "curl_easy_strerror", api.easy_strerror);
  resolve(lib, "curl_multi_init", api.multi_init);
  resolve(lib, "curl_multi_cleanup", api.multi_cleanup);
  resolve(lib, "curl_multi_add_handle", api.multi_add_handle);
  resolve(lib, "curl_multi_remove_handle", api.multi_remove_handle);
  resolve(lib, "curl_multi_perform", api.multi_perform);
  resolve(lib, "curl_multi_poll", api.multi_poll);
  resolve(lib, "curl_multi_info_read", api.multi_info_read);
  resolve(lib, "curl_multi_strerror", api.multi_strerror);
  resolve(lib, "curl_slist_append", api.slist_append);
  resolve(lib, "curl_slist_free_all", api.slist_free_all);
  resolve(lib, "curl_easy_escape", api.easy_escape);
  resolve(lib, "curl_free", api.string_free);
  if (global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    throw make_error(ExitCode::unavailable, "{}: curl_global_init failed", kMissing);
  }
  return api;
}

}  // namespace

const CurlApi& curl_api() {
  static std::once_flag once;
  static CurlApi api{};
  static std::string failure;
  static ExitCode failure_code = ExitCode::unavailable;
  std::call_once(once, [] {
    try {
      api = load();
    } catch (const Error& e) {
      failure = e.what();
      failure_code = e.code();
    }
  });
  if (!failure.empty()) throw Error(failure_code, failure);
  return api;
}

CURL* make_easy_handle(const std::string& url, char* errbuf, long connect_timeout_ms, long timeout_ms,
                       curl_write_callback on_body, curl_write_callback on_header, void* self) {
  const CurlApi& api = curl_api();
  CURL* h = api.easy_init();
  if (h == nullptr) throw Error(ExitCode::internal, "curl_easy_init failed (out of memory?)");
  api.easy_setopt(h, CURLOPT_URL, url.c_str());
  // Only HTTP(S), whatever a server names (a registry's token realm, a Location): never
  // file://, gopher:// and the like.
  api.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  api.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  api.easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  api.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
  if (timeout_ms > 0) api.easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  api.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  api.easy_setopt(h, CURLOPT_WRITEDATA, self);
  api.easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  api.easy_setopt(h, CURLOPT_HEADERDATA, self);
  return h;
}

}  // namespace gatebox
