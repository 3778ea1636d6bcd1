#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "stack/docker/docker_client.hpp"
#include "stack/docker/docker_host.hpp"
#include "util/rfc3339.hpp"

using namespace gatebox;
namespace fs = std::filesystem;

namespace {

Error expect_error(const std::string& profile_host, const DockerEnv& env) {
  try {
    resolve_docker_endpoint(profile_host, env);
  } catch (const Error& e) {
    return e;
  }
  FAIL("expected an Error");
  return Error(ExitCode::pass, "");
}

struct CertDir {
  fs::path dir = fs::temp_directory_path() / ("gatebox-docker-certs-" + std::to_string(::getpid()));
  explicit CertDir(std::initializer_list<const char*> files) {
    fs::create_directories(dir);
    for (const char* f : files) std::ofstream(dir / f) << "pem";
  }
  ~CertDir() { fs::remove_all(dir); }
};

}  // namespace

TEST_SUITE("docker::host") {
  TEST_CASE("the default is the local unix socket") {
    DockerEndpoint ep = resolve_docker_endpoint("", DockerEnv{});
    CHECK(ep.socket_path == "/var/run/docker.sock");
    CHECK(ep.display == "unix:///var/run/docker.sock");
    CHECK(ep.base_url == "http://docker");
    CHECK_FALSE(ep.tls);
  }

  TEST_CASE("DOCKER_HOST is used, and the profile's stack.docker.host wins over it") {
    DockerEnv env;
    env.docker_host = "unix:///run/user/1000/docker.sock";
    CHECK(resolve_docker_endpoint("", env).socket_path == "/run/user/1000/docker.sock");
    DockerEndpoint ep = resolve_docker_endpoint("tcp://10.1.2.3:2375", env);
    CHECK(ep.socket_path.empty());
    CHECK(ep.host == "10.1.2.3");
    CHECK(ep.port == 2375);
    CHECK(ep.base_url == "http://10.1.2.3:2375");
  }

  TEST_CASE("tcp without a port takes the docker CLI's default, 2375 plain or 2376 with TLS") {
    CHECK(resolve_docker_endpoint("tcp://builder", DockerEnv{}).port == 2375);
    CertDir certs({"ca.pem"});
    DockerEnv env;
    env.tls_verify = "1";
    env.cert_path = certs.dir.string();
    DockerEndpoint ep = resolve_docker_endpoint("tcp://builder", env);
    CHECK(ep.port == 2376);
    CHECK(ep.base_url == "https://builder:2376");
  }

  TEST_CASE("IPv6 addresses need brackets") {
    DockerEndpoint ep = resolve_docker_endpoint("tcp://[::1]:2375", DockerEnv{});
    CHECK(ep.host == "::1");
    CHECK(ep.base_url == "http://[::1]:2375");
    CHECK(expect_error("tcp://::1:2375", DockerEnv{}).code() == ExitCode::bad_input);
  }

  TEST_CASE("DOCKER_TLS_VERIFY with DOCKER_CERT_PATH uses ca.pem, cert.pem and key.pem") {
    CertDir certs({"ca.pem", "cert.pem", "key.pem"});
    DockerEnv env;
    env.docker_host = "tcp://docker.example:2376";
    env.tls_verify = "1";
    env.cert_path = certs.dir.string();
    DockerEndpoint ep = resolve_docker_endpoint("", env);
    CHECK(ep.tls);
    CHECK(ep.tls_verify);
    CHECK(ep.ca_file == (certs.dir / "ca.pem").string());
    CHECK(ep.cert_file == (certs.dir / "cert.pem").string());
    CHECK(ep.key_file == (certs.dir / "key.pem").string());
  }

  TEST_CASE("certificates default to ~/.docker, and a missing ca.pem is an error naming it") {
    DockerEnv env;
    env.tls_verify = "1";
    env.home = "/nonexistent-home";
    Error e = expect_error("tcp://h:2376", env);
    CHECK(e.code() == ExitCode::bad_input);
    CHECK(std::string(e.what()).find("/nonexistent-home/.docker/ca.pem") != std::string::npos);
  }

  TEST_CASE("a client certificate without its key is refused") {
    CertDir certs({"ca.pem", "cert.pem"});
    DockerEnv env;
    env.tls_verify = "yes";
    env.cert_path = certs.dir.string();
    CHECK(std::string(expect_error("tcp://h", env).what()).find("key.pem") != std::string::npos);
  }

  TEST_CASE("bad values: 64 from DOCKER_HOST, 65 from the profile, each with an example") {
    DockerEnv env;
    env.docker_host = "ssh://me@builder";
    Error from_env = expect_error("", env);
    CHECK(from_env.code() == ExitCode::usage);
    CHECK(std::string(from_env.what()).find("DOCKER_HOST") != std::string::npos);
    CHECK(std::string(from_env.what()).find("unix:///var/run/docker.sock") != std::string::npos);
    Error from_profile = expect_error("docker.sock", DockerEnv{});
    CHECK(from_profile.code() == ExitCode::bad_input);
    CHECK(std::string(from_profile.what()).find("stack.docker.host") != std::string::npos);
    CHECK(expect_error("unix://relative.sock", DockerEnv{}).code() == ExitCode::bad_input);
    CHECK(expect_error("tcp://host:99999", DockerEnv{}).code() == ExitCode::bad_input);
    CHECK(expect_error("tcp://host:http", DockerEnv{}).code() == ExitCode::bad_input);
    CHECK(expect_error("tcp://:2375", DockerEnv{}).code() == ExitCode::bad_input);
    CHECK(expect_error("tcp://host:2375/path", DockerEnv{}).code() == ExitCode::bad_input);
  }
}

TEST_SUITE("docker::api") {
  TEST_CASE("the daemon's message is taken from its JSON error") {
    CHECK(daemon_message(R"({"message":"No such image: gatebox/rootfs:abc"})") == "No such image: gatebox/rootfs:abc");
    CHECK(daemon_message("{\"message\":\"line one\\nline two\\n\"}") == "line one line two");
  }

  TEST_CASE("an import's progress stream yields its error object") {
    const std::string stream =
        "{\"status\":\"Downloading\",\"progress\":\"[=>  ]\"}\n"
        "{\"errorDetail\":{\"message\":\"archive/tar: invalid tar header\"},\"error\":\"archive/tar: invalid tar "
        "header\"}\n";
    CHECK(daemon_message(stream) == "archive/tar: invalid tar header");
    CHECK(daemon_message("{\"error\":\"only error\"}") == "only error");
  }

  TEST_CASE("a body that is not JSON is shown as text, trimmed and cut short") {
    CHECK(daemon_message("page not found\n") == "page not found");
    CHECK(daemon_message("") == "(no message)");
    const std::string long_text(2000, 'a');
    CHECK(daemon_message(long_text).size() < 600);
    CHECK(daemon_message("bad\x1b[31mred") == "bad [31mred");
  }

  TEST_CASE("query values are percent-encoded") {
    CHECK(url_encode("LABEL gatebox.rootfs=ab") == "LABEL%20gatebox.rootfs%3Dab");
    CHECK(url_encode("gatebox/rootfs") == "gatebox%2Frootfs");
    CHECK(url_encode("{\"label\":[\"a\"]}") == "%7B%22label%22%3A%5B%22a%22%5D%7D");
  }

  TEST_CASE("Docker's times parse to milliseconds, the zero time to nothing") {
    const auto a = parse_rfc3339_ms("2024-05-01T10:00:00.123456789Z");
    const auto b = parse_rfc3339_ms("2024-05-01T10:00:01.5Z");
    REQUIRE(a);
    REQUIRE(b);
    CHECK(*b - *a == doctest::Approx(1376.543).epsilon(0.0001));
    CHECK(*parse_rfc3339_ms("2024-05-01T12:00:00+02:00") == doctest::Approx(*parse_rfc3339_ms("2024-05-01T10:00:00Z")));
    CHECK_FALSE(parse_rfc3339_ms("0001-01-01T00:00:00Z"));
    CHECK_FALSE(parse_rfc3339_ms("yesterday"));
  }
}
