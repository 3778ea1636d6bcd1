#include "stack/docker/curl_api.hpp"

#include <dlfcn.h>

#include <mutex>
#include <string>

#include "util/error.hpp"

namespace gatebox {
namespace {

constexpr const char* kMissing = "the docker stack needs libcurl (apt-get install libcurl4)";

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

}  // namespace gatebox
