#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "stack/kubernetes/registry_auth.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

using namespace gatebox;
using namespace gatebox::kube;
namespace fs = std::filesystem;

namespace {

// A Docker client config in a temp dir, and fake credential helpers in a bin/ put first in
// PATH for the test's duration.
struct DockerConfig {
  TempDir dir{fs::temp_directory_path(), "gatebox-dockercfg-"};
  std::string old_path = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "";
  DockerConfig() {
    fs::create_directories(dir.path() / "bin");
    ::setenv("PATH", ((dir.path() / "bin").string() + ":" + old_path).c_str(), 1);
  }
  ~DockerConfig() { ::setenv("PATH", old_path.c_str(), 1); }
  DockerConfig(const DockerConfig&) = delete;
  DockerConfig& operator=(const DockerConfig&) = delete;

  fs::path config(const std::string& json) const {
    const fs::path p = dir.path() / "config.json";
    std::ofstream(p) << json;
    return p;
  }
  void helper(const std::string& name, const std::string& script) const {
    const fs::path p = dir.path() / "bin" / ("docker-credential-" + name);
    std::ofstream(p) << "#!/bin/sh\n" << script;
    ::chmod(p.c_str(), 0755);
  }
};

Error lookup_error(std::string_view host, const fs::path& config) {
  try {
    find_registry_credentials(host, config);
  } catch (const Error& e) {
    return e;
  }
  FAIL("expected an Error");
  return Error(ExitCode::internal, "");
}

}  // namespace

TEST_SUITE("kube::registry_auth") {
  TEST_CASE("auths: user and password from `auth`, or from the two fields; keys with a scheme and path") {
    DockerConfig d;
    const fs::path cfg = d.config(R"({"auths": {
      "https://reg.example.com": {"auth": "dXNlcjpwQHNzOndpdGg6Y29sb25z"},
      "http://10.0.0.2:5000/v1/": {"username": "u2", "password": "p2"},
      "other.example.com": {"identitytoken": "refresh-me"},
      "https://index.docker.io/v1/": {"auth": "aHViOmh1YnB3"},
      "placeholder.example.com": {}
    }})");
    auto c = find_registry_credentials("reg.example.com", cfg);
    REQUIRE(c);
    CHECK(c->username == "user");
    CHECK(c->password == "p@ss:with:colons");
    CHECK(c->identity_token.empty());
    CHECK(c->source == cfg.string());
    c = find_registry_credentials("10.0.0.2:5000", cfg);
    REQUIRE(c);
    CHECK(c->username == "u2");
    CHECK(c->password == "p2");
    c = find_registry_credentials("other.example.com", cfg);
    REQUIRE(c);
    CHECK(c->identity_token == "refresh-me");
    // Docker Hub is pushed to at registry-1.docker.io, stored under its index's address.
    c = find_registry_credentials("registry-1.docker.io", cfg);
    REQUIRE(c);
    CHECK(c->username == "hub");
    CHECK_FALSE(find_registry_credentials("placeholder.example.com", cfg));
    CHECK_FALSE(find_registry_credentials("unknown.example.com", cfg));
    CHECK_FALSE(find_registry_credentials("reg.example.com.evil", cfg));
    CHECK_FALSE(find_registry_credentials("reg.example.com", d.dir.path() / "missing.json"));

    // The key as Docker writes it today wins over an older spelling of the same host,
    // whatever their order in the file.
    const fs::path both = d.config(R"({"auths": {
      "https://new.example.com/v1/": {"username": "stale", "password": "old"},
      "new.example.com": {"username": "fresh", "password": "new"}}})");
    c = find_registry_credentials("new.example.com", both);
    REQUIRE(c);
    CHECK(c->username == "fresh");
  }

  TEST_CASE("a malformed config is exit 69 naming the file and the key") {
    DockerConfig d;
    for (const auto& [json, part] : std::initializer_list<std::pair<const char*, const char*>>{
             {"{not json", "is not a JSON object"},
             {R"({"auths": {"r.io": "x"}})", R"(auths["r.io"] must be an object)"},
             {R"({"auths": {"r.io": {"auth": "*"}}})", R"(auths["r.io"].auth is not base64)"},
             {R"({"auths": {"r.io": {"auth": "bm9jb2xvbg=="}}})", R"(auths["r.io"].auth is not base64 of "user:password")"},
             {R"({"auths": {"r.io": {"username": 1}}})", R"(auths["r.io"].username must be a string)"},
             {R"({"credHelpers": {"r.io": ""}})", R"(credHelpers["r.io"] must name a helper)"}}) {
      CAPTURE(json);
      const fs::path cfg = d.config(json);
      const Error e = lookup_error("r.io", cfg);
      CHECK(e.code() == ExitCode::unavailable);
      CHECK(std::string(e.what()).rfind(cfg.string(), 0) == 0);
      CHECK_MESSAGE(std::string(e.what()).find(part) != std::string::npos, e.what());
    }
  }

  TEST_CASE("credHelpers first, then credsStore; a helper gets the host on stdin") {
    DockerConfig d;
    // Answers with the host it was asked about as the user name.
    d.helper("echo", R"([ "$1" = get ] || exit 9
read host
printf '{"ServerURL":"%s","Username":"%s","Secret":"s3cret"}' "$host" "$host"
)");
    d.helper("tokens", R"(printf '{"Username":"<token>","Secret":"refresh"}'
)");
    d.helper("empty", R"(echo "gpg: WARNING: unsafe permissions on homedir" >&2
echo "credentials not found in native keychain"; exit 1
)");
    d.helper("leaky", R"(printf '{"Username":"u","Secret":"leaked-secret"}'; exit 1
)");
    d.helper("broken", R"(printf 'keyring\033[2J locked\n' >&2; exit 2
)");
    const fs::path cfg = d.config(R"({"auths": {"r.io": {"auth": "ZmlsZTpmaWxl"}},
      "credsStore": "echo", "credHelpers": {"t.io": "tokens", "n.io": "empty", "b.io": "broken", "m.io": "missing", "l.io": "leaky"}})");
    auto c = find_registry_credentials("r.io", cfg);  // the store wins over auths, as in Docker
    REQUIRE(c);
    CHECK(c->username == "r.io");
    CHECK(c->password == "s3cret");
    CHECK(c->source == "docker-credential-echo");
    c = find_registry_credentials("registry-1.docker.io", cfg);
    REQUIRE(c);
    CHECK(c->username == "https://index.docker.io/v1/");
    c = find_registry_credentials("t.io", cfg);
    REQUIRE(c);
    CHECK(c->username.empty());
    CHECK(c->identity_token == "refresh");
    CHECK_FALSE(find_registry_credentials("n.io", cfg));
    Error e = lookup_error("b.io", cfg);
    CHECK(e.code() == ExitCode::unavailable);
    CHECK(std::string(e.what()) == "the credential helper docker-credential-broken failed for b.io: keyring [2J locked");
    e = lookup_error("l.io", cfg);  // what it printed on stdout may be the secret: not quoted
    CHECK(std::string(e.what()) == "the credential helper docker-credential-leaky failed for l.io: exit code 1");
    e = lookup_error("m.io", cfg);
    CHECK(std::string(e.what()) == cfg.string() + " names the credential helper 'missing', but docker-credential-missing is not installed");
  }

  TEST_CASE("Basic authorization") {
    RegistryCredentials c;
    c.username = "user";
    c.password = "p@ss";
    CHECK(basic_authorization(c) == "Basic dXNlcjpwQHNz");
  }

  TEST_CASE("secrets go only to the registry's own origin") {
    CHECK(same_origin("https://r.io/v2/x/blobs/uploads/abc?_state=1", "https", "r.io"));
    CHECK(same_origin("https://R.io:443/v2/", "https", "r.io"));
    CHECK(same_origin("http://10.0.0.2:5000/v2/", "http", "10.0.0.2:5000"));
    CHECK(same_origin("https://r.io", "https", "r.io:443"));
    CHECK_FALSE(same_origin("http://r.io/v2/", "https", "r.io"));  // a downgrade
    CHECK_FALSE(same_origin("https://r.io.evil.example/v2/", "https", "r.io"));
    CHECK_FALSE(same_origin("https://r.io@evil.example/v2/", "https", "r.io"));
    CHECK_FALSE(same_origin("https://evil.example/r.io", "https", "r.io"));
    CHECK_FALSE(same_origin("https://r.io:8443/v2/", "https", "r.io"));
    CHECK_FALSE(same_origin("/v2/relative", "https", "r.io"));

    // Token services: https anywhere; plain http only on the host of a plain-http registry.
    CHECK(may_send_credentials_to("https://auth.example.com/token", "https", "r.io"));
    CHECK(may_send_credentials_to("http://10.0.0.2:5001/token", "http", "10.0.0.2:5000"));
    CHECK_FALSE(may_send_credentials_to("http://r.io/token", "https", "r.io"));
    CHECK_FALSE(may_send_credentials_to("http://10.0.0.3:5001/token", "http", "10.0.0.2:5000"));
    CHECK_FALSE(may_send_credentials_to("http://u@10.0.0.2:5001/token", "http", "10.0.0.2:5000"));
    CHECK_FALSE(may_send_credentials_to("ftp://auth.example.com/token", "https", "r.io"));
    CHECK_FALSE(may_send_credentials_to("/token", "http", "10.0.0.2:5000"));
  }
}
