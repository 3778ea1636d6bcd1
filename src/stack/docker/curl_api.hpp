#pragma once
// libcurl, loaded on first use. gatebox's start-up is part of every gate's cold start, and
// linking libcurl (a dozen more shared libraries to resolve) would slow every invocation,
// so only the docker stack pays for it, and only when it talks to a daemon.
#include <curl/curl.h>

namespace gatebox {

// The functions of libcurl the docker stack uses. The variadic ones keep their C signature.
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
};

// Loads libcurl.so.4 once (thread-safe). Throws Error(69) naming the package when it is
// missing or too old to have what we use.
const CurlApi& curl_api();

}  // namespace gatebox
