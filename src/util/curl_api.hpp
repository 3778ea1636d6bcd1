#pragma once
// libcurl, loaded on first use. gatebox's start-up is part of every gate's cold start, and
// linking libcurl (a dozen more shared libraries to resolve) would slow every invocation,
// so only the stacks that speak HTTP (docker, kubernetes) pay for it, and only when they do.
#include <curl/curl.h>

#include <string>

namespace gatebox {

// The functions of libcurl gatebox uses. The variadic ones keep their C signature.
struct CurlApi {
  CURL* (*easy_init)();
  void (*easy_cleanup)(CURL*);
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...);
  CURLcode (*easy_perform)(CURL*);
  const char* (*easy_strerror)(CURLcode);
  CURLM* (*multi_init)();
  CURLMcode (*multi_cleanup)(CURLM*);
  CURLMcode (*multi_add_handle)(CURLM*, CURL*);
  CURLMcode (*multi_remove_handle)(CURLM*, CURL*);
  CURLMcode (*multi_perform)(CURLM*, int*);
  CURLMcode (*multi_poll)(CURLM*, struct curl_waitfd*, unsigned int, int, int*);
  CURLMsg* (*multi_info_read)(CURLM*, int*);
  const char* (*multi_strerror)(CURLMcode);
  struct curl_slist* (*slist_append)(struct curl_slist*, const char*);
  void (*slist_free_all)(struct curl_slist*);
  char* (*easy_escape)(CURL*, const char*, int);
  void (*string_free)(void*);  // curl_free, for what easy_escape returns
};

// Loads libcurl.so.4 once (thread-safe). Throws Error(69) naming the package when it is
// missing or too old to have what we use.
const CurlApi& curl_api();

// A new easy handle for `url` with what every transfer of gatebox sets: no signals (threads
// and signalfd), `errbuf` (CURL_ERROR_SIZE bytes) for curl's detail, the connect timeout,
// the overall one (0 = none: streams that last as long as the gate), and the write and
// header callbacks, both given `self`. Throws Error(70) when curl cannot make one.
CURL* make_easy_handle(const std::string& url, char* errbuf, long connect_timeout_ms, long timeout_ms,
                       curl_write_callback on_body, curl_write_callback on_header, void* self);

}  // namespace gatebox
