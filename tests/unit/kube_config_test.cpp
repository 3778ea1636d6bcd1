#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "stack/kubernetes/kube_config.hpp"
#include "util/fs.hpp"

using namespace gatebox;
using namespace gatebox::kube;
namespace fs = std::filesystem;

namespace {

// "-----BEGIN CERTIFICATE-----\nCA\n" and friends, base64-encoded as a kubeconfig holds them.
constexpr const char* kCaPem = "CA PEM\n";
constexpr const char* kCaB64 = "Q0EgUEVNCg==";  // base64 of kCaPem

struct Scratch {
  TempDir tmp{fs::temp_directory_path(), "gatebox-kubecfg-"};
  fs::path write(const std::string& name, const std::string& text) {
    const fs::path p = tmp.path() / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p;
  }
};

const std::string kTwoContexts = R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: c1
  cluster:
    server: https://10.0.0.1:6443/
    certificate-authority-data: Q0EgUEVNCg==
- name: c2
  cluster:
    server: http://127.0.0.1:8080
    insecure-skip-tls-verify: true
users:
- name: alice
  user:
    token: abc123
- name: bob
  user:
    client-certificate-data: Q0VSVCBQRU0K
    client-key-data: S0VZIFBFTQo=
contexts:
- name: dev
  context: {cluster: c1, user: alice, namespace: gates}
- name: prod
  context: {cluster: c2, user: bob}
)";

Error load_error(const std::string& path, const std::string& context = "") {
  try {
    load_kube_target(path, context, "");
  } catch (const Error& e) {
    return e;
  }
  FAIL("expected an Error");
  return Error(ExitCode::pass, "");
}

}  // namespace

TEST_SUITE("kube::config") {
  TEST_CASE("the current context with a token and inline CA") {
    Scratch s;
    const fs::path cfg = s.write("config", kTwoContexts);
    KubeTarget t = load_kube_target(cfg.string(), "", "");
    CHECK(t.server == "https://10.0.0.1:6443");
    CHECK(t.tls.ca_pem == kCaPem);
    CHECK(t.token == "abc123");
    CHECK(t.namespace_name == "gates");
    CHECK(t.context == "dev");
    CHECK(t.user == "alice");
    CHECK(t.source == cfg.string());
    CHECK_FALSE(t.tls.insecure_skip_verify);
  }

  TEST_CASE("a named context with client certificate data; namespace default and override") {
    Scratch s;
    const fs::path cfg = s.write("config", kTwoContexts);
    KubeTarget t = load_kube_target(cfg.string(), "prod", "");
    CHECK(t.server == "http://127.0.0.1:8080");
    CHECK(t.tls.insecure_skip_verify);
    CHECK(t.tls.client_cert_pem == "CERT PEM\n");
    CHECK(t.tls.client_key_pem == "KEY PEM\n");
    CHECK(t.token.empty());
    CHECK(t.namespace_name == "default");
    CHECK(load_kube_target(cfg.string(), "prod", "other").namespace_name == "other");
    CHECK(load_kube_target(cfg.string(), "", "other").namespace_name == "other");
  }

  TEST_CASE("files are read relative to the kubeconfig's folder") {
    Scratch s;
    s.write("kube/pki/ca.crt", kCaPem);
    s.write("kube/pki/client.crt", "CERT PEM\n");
    s.write("kube/pki/client.key", "KEY PEM\n");
    s.write("kube/token", "  tok-from-file\n");
    const fs::path cfg = s.write("kube/config", R"(
current-context: a
clusters:
- name: c
  cluster: {server: "https://k:6443", certificate-authority: pki/ca.crt}
users:
- name: u
  user: {tokenFile: token, client-certificate: pki/client.crt, client-key: )" +
                                                      (s.tmp.path() / "kube/pki/client.key").string() + R"(}
contexts:
- name: a
  context: {cluster: c, user: u}
)");
    KubeTarget t = load_kube_target(cfg.string(), "", "");
    CHECK(t.tls.ca_pem == kCaPem);
    CHECK(t.tls.client_cert_pem == "CERT PEM\n");
    CHECK(t.tls.client_key_pem == "KEY PEM\n");
    CHECK(t.token == "tok-from-file");
  }

  TEST_CASE("no file outside the kubeconfig's folder is read, however it is named") {
    Scratch s;
    s.write("secret", "root-only\n");
    s.write("kube/token", "tok\n");
    fs::create_symlink(s.tmp.path() / "secret", s.tmp.path() / "kube/link");
    const auto config = [&](const std::string& token_file) {
      return s.write("kube/config", R"(
current-context: a
clusters:
- name: c
  cluster: {server: "https://k:6443"}
users:
- name: u
  user: {tokenFile: )" + token_file + R"(}
contexts:
- name: a
  context: {cluster: c, user: u}
)");
    };
    CHECK(load_kube_target(config("token").string(), "", "").token == "tok");
    for (const std::string& outside : {std::string("../secret"), (s.tmp.path() / "secret").string(), std::string("link"),
                                       std::string("/etc/passwd")}) {
      const Error e = load_error(config(outside), "");
      CHECK(e.code() == ExitCode::unavailable);
      INFO(e.what());
      CHECK(std::string(e.what()).find("outside the kubeconfig's folder") != std::string::npos);
    }
  }

  TEST_CASE("KUBECONFIG's first entry, then ~/.kube/config") {
    Scratch s;
    const fs::path cfg = s.write("first", kTwoContexts);
    const char* old_kc = std::getenv("KUBECONFIG");
    const std::string saved_kc = old_kc ? old_kc : "";
    const std::string saved_home = std::getenv("HOME") ? std::getenv("HOME") : "";
    ::setenv("KUBECONFIG", (":" + cfg.string() + ":/nonexistent").c_str(), 1);
    CHECK(load_kube_target("", "", "").source == cfg.string());
    ::unsetenv("KUBECONFIG");
    ::setenv("HOME", s.tmp.path().c_str(), 1);
    Error e = load_error("");
    CHECK(e.code() == ExitCode::unavailable);
    CHECK(std::string(e.what()) ==
          "no kubeconfig: set KUBECONFIG, create ~/.kube/config, or name one with --set stack.kubernetes.kubeconfig=...");
    s.write(".kube/config", kTwoContexts);
    CHECK(load_kube_target("", "", "").source == (s.tmp.path() / ".kube/config").string());
    ::setenv("HOME", saved_home.c_str(), 1);
    if (old_kc) ::setenv("KUBECONFIG", saved_kc.c_str(), 1);
  }

  TEST_CASE("errors: unknown context, missing file, plugins, malformed YAML") {
    Scratch s;
    const fs::path cfg = s.write("config", kTwoContexts);
    Error e = load_error(cfg.string(), "staging");
    CHECK(e.code() == ExitCode::unavailable);
    CHECK(std::string(e.what()).find("no context 'staging' (it has: dev, prod)") != std::string::npos);

    e = load_error((s.tmp.path() / "missing").string());
    CHECK(std::string(e.what()).find("no kubeconfig at") != std::string::npos);

    const fs::path exec = s.write("exec", R"(current-context: a
clusters: [{name: c, cluster: {server: "https://k"}}]
users: [{name: eks, user: {exec: {command: aws, args: [eks, get-token]}}}]
contexts: [{name: a, context: {cluster: c, user: eks}}]
)");
    e = load_error(exec.string());
    CHECK(e.code() == ExitCode::unavailable);
    CHECK(std::string(e.what()).find("exec plugin 'aws'") != std::string::npos);
    CHECK(std::string(e.what()).find("token") != std::string::npos);

    const fs::path ap = s.write("ap", R"(current-context: a
clusters: [{name: c, cluster: {server: "https://k"}}]
users: [{name: g, user: {auth-provider: {name: gcp}}}]
contexts: [{name: a, context: {cluster: c, user: g}}]
)");
    CHECK(std::string(load_error(ap.string()).what()).find("auth-provider plugin 'gcp'") != std::string::npos);

    const fs::path bad = s.write("bad", "clusters:\n- name: c\n  cluster: {server: [\n");
    e = load_error(bad.string());
    CHECK(std::string(e.what()).rfind(bad.string() + ":", 0) == 0);
    CHECK(std::string(e.what()).find("malformed kubeconfig") != std::string::npos);

    const fs::path nocluster = s.write("nocluster", "current-context: a\ncontexts: [{name: a, context: {cluster: x}}]\n");
    CHECK(std::string(load_error(nocluster.string()).what()).find("names cluster 'x'") != std::string::npos);

    const fs::path missing_file = s.write("mf", R"(current-context: a
clusters: [{name: c, cluster: {server: "https://k", certificate-authority: nope.crt}}]
contexts: [{name: a, context: {cluster: c}}]
)");
    CHECK(std::string(load_error(missing_file.string()).what()).find("nope.crt (no such file)") != std::string::npos);
  }
}
