#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>

#include "stack/kubernetes/http_client.hpp"
#include "stack/kubernetes/registry_client.hpp"
#include "util/fs.hpp"
#include "util/error.hpp"

using namespace gatebox;
using namespace gatebox::kube;

namespace {

// The image of GATEBOX_KUBE_ROOTFS, built into a temp cache.
struct TestImage {
  TempDir cache{std::filesystem::temp_directory_path(), "gatebox-kpush-"};
  OciImage image;
  explicit TestImage(const char* rootfs) {
    RootfsTree tree;
    tree.dir = rootfs;
    image = build_image(tree, {}, cache.path());
  }
};

CredentialsLookup fixed(std::optional<RegistryCredentials> c) {
  return [c](std::string_view) { return c; };
}

RegistryCredentials user_password(std::string user, std::string password) {
  RegistryCredentials c;
  c.username = std::move(user);
  c.password = std::move(password);
  c.source = "the test";
  return c;
}

std::string push_error(const RegistryRef& ref, const OciImage& image, const CredentialsLookup& lookup) {
  try {
    push_image(ref, image, {}, lookup);
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::unavailable);
    return e.what();
  }
  FAIL("expected an Error");
  return {};
}

}  // namespace

TEST_SUITE("kube::registry") {
  TEST_CASE("registry references") {
    RegistryRef r = parse_registry("registry.example.com/gates");
    CHECK(r.scheme == "https");
    CHECK(r.host == "registry.example.com");
    CHECK(r.repository == "gates");
    r = parse_registry("http://10.217.0.2:5000/gates");
    CHECK(r.scheme == "http");
    CHECK(r.host == "10.217.0.2:5000");
    CHECK(r.repository == "gates");
    r = parse_registry("localhost:5000/a/b");
    CHECK(r.scheme == "https");
    CHECK(r.host == "localhost:5000");
    CHECK(r.repository == "a/b");
    CHECK(parse_registry("https://r.io/x-y/z_w.v/").repository == "x-y/z_w.v");
  }

  TEST_CASE("bad references are exit 65 with an example") {
    for (const char* bad : {"", "registry.example.com", "registry.example.com/", "/gates", "ftp://r/x",
                            "r.io/Gates", "r.io/gates:latest", "r.io/gates@sha256:00", "r.io//x", "r io/x",
                            "r.io/-x"}) {
      CAPTURE(bad);
      try {
        parse_registry(bad);
        FAIL("expected an Error");
      } catch (const Error& e) {
        CHECK(e.code() == ExitCode::bad_input);
        CHECK(std::string(e.what()).find("registry.example.com/gates") != std::string::npos);
      }
    }
  }

  TEST_CASE("only http and https are fetched, whatever a server names") {
    const HttpClient http;
    for (const char* url : {"file:///etc/hostname", "gopher://127.0.0.1:1/", "dict://127.0.0.1:1/x"}) {
      CAPTURE(url);
      try {
        const HttpResponse r = http.request("GET", url);
        FAIL("expected an Error, got status ", r.status, " and ", r.body.size(), " bytes");
      } catch (const Error& e) {
        CHECK_MESSAGE(std::string(e.what()).find("not supported") != std::string::npos, e.what());
      }
    }
  }

  TEST_CASE("an unreachable registry is exit 69 naming it") {
    OciImage image;
    image.manifest_digest = "sha256:00";
    try {
      push_image(parse_registry("http://127.0.0.1:1/gates"), image);
      FAIL("expected an Error");
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::unavailable);
      CHECK(std::string(e.what()).rfind("cannot reach the registry http://127.0.0.1:1: ", 0) == 0);
    }
  }

  // Against a real registry: run by tests/e2e/kube-registry.sh, which starts one and sets
  // GATEBOX_KUBE_REGISTRY (http://127.0.0.1:PORT/REPO) and GATEBOX_KUBE_ROOTFS (a tree).
  TEST_CASE("push to a registry: a second push of the same tree sends nothing") {
    const char* registry = std::getenv("GATEBOX_KUBE_REGISTRY");
    const char* rootfs = std::getenv("GATEBOX_KUBE_ROOTFS");
    if (registry == nullptr || rootfs == nullptr) return;
    const TestImage t(rootfs);
    const OciImage& image = t.image;
    const RegistryRef ref = parse_registry(registry);
    int lines = 0;
    const PushResult first = push_image(ref, image, [&](std::string_view) { ++lines; });
    CHECK(first.image == ref.host + "/" + ref.repository + "@" + image.manifest_digest);
    CHECK(first.manifest_pushed);
    CHECK(first.blobs_pushed + first.blobs_present == 2);
    MESSAGE("first push: ", first.blobs_pushed, " blobs pushed, ", first.blobs_present, " present, ",
            first.bytes_pushed, " bytes");
    const PushResult second = push_image(ref, image);
    CHECK(second.blobs_pushed == 0);
    CHECK(second.blobs_present == 0);  // not even asked: the manifest HEAD answered
    CHECK_FALSE(second.manifest_pushed);
    CHECK(second.bytes_pushed == 0);
    CHECK(second.image == first.image);

    const HttpClient http;
    const HttpResponse m = http.request("GET", ref.scheme + "://" + ref.host + "/v2/" + ref.repository + "/manifests/" +
                                                   image.manifest_digest,
                                        {std::string("Accept: ") + kManifestMediaType});
    CHECK(m.status == 200);
    CHECK(m.body == image.manifest);
    CHECK(m.header("docker-content-digest") == image.manifest_digest);
    const HttpResponse blob = http.request("HEAD", ref.scheme + "://" + ref.host + "/v2/" + ref.repository + "/blobs/" +
                                                       image.layers[0].digest);
    CHECK(blob.status == 200);
    CHECK(blob.header("content-length") == std::to_string(image.layers[0].size));
  }

  TEST_CASE("push to a registry with Basic authentication: none, wrong, Docker's config") {
    const char* registry = std::getenv("GATEBOX_KUBE_BASIC_REGISTRY");
    const char* rootfs = std::getenv("GATEBOX_KUBE_ROOTFS");
    if (registry == nullptr || rootfs == nullptr) return;
    const TestImage t(rootfs);
    const RegistryRef ref = parse_registry(registry);
    std::string e = push_error(ref, t.image, fixed(std::nullopt));
    CHECK_MESSAGE(e.find("the registry " + ref.host + " wants credentials for checking for manifest") == 0, e);
    CHECK_MESSAGE(e.find("`docker login " + ref.host + "`") != std::string::npos, e);
    e = push_error(ref, t.image, fixed(user_password("basic-user", "wrong")));
    CHECK_MESSAGE(e.find("rejected the credentials of user 'basic-user'") != std::string::npos, e);
    CHECK_MESSAGE(e.find("(credentials from the test)") != std::string::npos, e);
    CHECK(e.find("wrong") == std::string::npos);  // never the secret
    // kube-registry.sh wrote DOCKER_CONFIG/config.json with the right ones.
    const PushResult first = push_image(ref, t.image);
    CHECK(first.manifest_pushed);
    CHECK(first.blobs_pushed == 2);
    const PushResult second = push_image(ref, t.image);
    CHECK_FALSE(second.manifest_pushed);
    CHECK(second.blobs_pushed == 0);
  }

  TEST_CASE("push to a registry with token authentication: credentials, an identity token, wrong, none") {
    const char* registry = std::getenv("GATEBOX_KUBE_TOKEN_REGISTRY");
    const char* rootfs = std::getenv("GATEBOX_KUBE_ROOTFS");
    if (registry == nullptr || rootfs == nullptr) return;
    const TestImage t(rootfs);
    const RegistryRef ref = parse_registry(registry);
    std::string e = push_error(ref, t.image, fixed(std::nullopt));
    CHECK_MESSAGE(e.find("wants a token, and its token service http://127.0.0.1:") != std::string::npos, e);
    CHECK_MESSAGE(e.find("refused an anonymous one (401: UNAUTHORIZED: bad user or password)") != std::string::npos, e);
    e = push_error(ref, t.image, fixed(user_password("crlf", "any")));
    CHECK_MESSAGE(e.find("answered a token that cannot go in a header") != std::string::npos, e);
    e = push_error(ref, t.image, fixed(user_password("token-user", "wrong")));
    CHECK_MESSAGE(e.find("refused user 'token-user' (401: UNAUTHORIZED: bad user or password) (credentials from the test)") !=
                      std::string::npos,
                  e);
    RegistryCredentials bad_token;
    bad_token.identity_token = "refresh-bad";
    bad_token.source = "the test";
    e = push_error(ref, t.image, fixed(bad_token));
    CHECK_MESSAGE(e.find("refused the identity token (401") != std::string::npos, e);

    const PushResult first = push_image(ref, t.image, {}, fixed(user_password("token-user", "token-pw")));
    CHECK(first.manifest_pushed);
    CHECK(first.blobs_pushed == 2);
    RegistryCredentials good_token;
    good_token.identity_token = "refresh-good";
    const PushResult second = push_image(ref, t.image, {}, fixed(good_token));
    CHECK_FALSE(second.manifest_pushed);
    CHECK(second.image == first.image);
  }
}
