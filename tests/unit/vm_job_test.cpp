#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

#include "stack/vm/job.hpp"

using namespace gatebox::vm;

namespace {

Job sample_job() {
  Job job;
  for (std::size_t i = 0; i < job.secret.size(); ++i) job.secret[i] = static_cast<std::uint8_t>(0xf0 + i);
  job.argv = {"/bin/sh", "-c", "echo hi"};
  job.env = {{"PATH", "/bin"}, {"LANG", "C.UTF-8"}};
  job.cwd = "/work";
  job.uid = 1000;
  job.gid = 100;
  job.hostname = "gate-host";
  job.root_readonly = true;
  job.loopback = true;
  job.memory = 256ULL << 20;
  job.pids = 64;
  job.cpus = 1.5;
  job.disk = 64ULL << 20;
  job.open_files = 512;
  job.output = 1 << 20;
  job.verdict_file = "/tmp/verdict.json";
  job.mounts = {{"/data", true}};
  job.seccomp = {{0x20, 0, 0, 4}, {0x15, 1, 0, 0xc000003e}, {0x06, 0, 0, 0x7fff0000}};
  return job;
}

// The sample job's JSON with one key replaced (or removed when `value` is discarded).
std::string with(const std::string& key, const nlohmann::json& value) {
  auto doc = nlohmann::json::parse(job_to_json(sample_job()));
  if (value.is_discarded()) {
    doc.erase(key);
  } else {
    doc[key] = value;
  }
  return doc.dump();
}

std::string rejection(const std::string& text) {
  try {
    job_from_json(text);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("vm::job") {
  TEST_CASE("a job survives the trip through JSON") {
    const Job in = sample_job();
    const Job out = job_from_json(job_to_json(in));
    CHECK(out.secret == in.secret);
    CHECK(out.argv == in.argv);
    CHECK(out.env == in.env);
    CHECK(out.cwd == "/work");
    CHECK(out.uid == 1000);
    CHECK(out.gid == 100);
    CHECK(out.hostname == "gate-host");
    CHECK(out.root_readonly);
    CHECK(out.loopback);
    CHECK(out.memory == in.memory);
    CHECK(out.pids == 64);
    CHECK(out.cpus == doctest::Approx(1.5));
    CHECK(out.disk == in.disk);
    CHECK(out.open_files == 512);
    CHECK(out.output == in.output);
    CHECK(out.verdict_file == "/tmp/verdict.json");
    REQUIRE(out.mounts.size() == 1);
    CHECK(out.mounts[0].target == "/data");
    REQUIRE(out.seccomp.size() == 3);
    CHECK(out.seccomp[1].code == 0x15);
    CHECK(out.seccomp[1].jt == 1);
    CHECK(out.seccomp[1].k == 0xc000003eu);
    CHECK(out.seccomp[2].k == 0x7fff0000u);
  }

  TEST_CASE("the secret travels as hex and the filter as [code, jt, jf, k]") {
    const auto doc = nlohmann::json::parse(job_to_json(sample_job()));
    CHECK(doc["secret"].get<std::string>().substr(0, 6) == "f0f1f2");
    CHECK(doc["seccomp"][1] == nlohmann::json::array({0x15, 1, 0, 0xc000003e}));
  }

  TEST_CASE("malformed jobs are refused with a one-line reason") {
    const auto discard = nlohmann::json(nlohmann::json::value_t::discarded);
    CHECK(rejection("{not json").find("job is not valid JSON") == 0);
    CHECK(rejection(with("argv", discard)).find("missing argv") != std::string::npos);
    CHECK(rejection(with("argv", nlohmann::json::array())).find("missing argv") != std::string::npos);
    CHECK(rejection(with("secret", discard)).find("missing 'secret'") != std::string::npos);
    CHECK(rejection(with("secret", "abcd")).find("64 hex digits, got 4") != std::string::npos);
    CHECK(rejection(with("secret", std::string(64, 'z'))).find("not hexadecimal") != std::string::npos);
    CHECK(rejection(with("cwd", "relative")).find("absolute path") != std::string::npos);
    CHECK(rejection(with("uid", "root")).find("'uid' has the wrong type") != std::string::npos);
    CHECK(rejection(with("cpus", -1)).find("cpus") != std::string::npos);
    CHECK(rejection(with("surprise", 1)).find("unknown key 'surprise'") != std::string::npos);
    CHECK(rejection(with("env", {{"A=B", "x"}})).find("bad environment variable name") != std::string::npos);
    CHECK(rejection(with("seccomp", nlohmann::json::array({{1, 2, 3}}))).find("not [code, jt, jf, k]") !=
          std::string::npos);
    CHECK(rejection(with("seccomp", nlohmann::json::array({{0x10000, 0, 0, 0}}))).find("out of range") !=
          std::string::npos);
    nlohmann::json huge = nlohmann::json::array();
    for (int i = 0; i <= BPF_MAXINSNS; ++i) huge.push_back({6, 0, 0, 0});
    CHECK(rejection(with("seccomp", huge)).find("at most 4096") != std::string::npos);
    for (const std::string& reason : {rejection("{not json"), rejection(with("secret", "abcd"))}) {
      CHECK(reason.find('\n') == std::string::npos);
    }
  }

  TEST_CASE("an exit report survives the trip through JSON") {
    ExitReport in;
    in.exit_code = 127;
    in.exec_error = "cannot execute 'nope': No such file or directory";
    in.output_truncated = true;
    in.cpu_user_ms = 12;
    in.cpu_system_ms = 3;
    in.max_rss_kib = 2048;
    in.run_ms = 4.5;
    const ExitReport out = exit_report_from_json(exit_report_to_json(in));
    CHECK(out.exit_code == 127);
    CHECK_FALSE(out.signal);
    CHECK(out.exec_error == in.exec_error);
    CHECK(out.output_truncated);
    CHECK_FALSE(out.oom_killed);
    CHECK(out.cpu_user_ms == 12);
    CHECK(out.max_rss_kib == 2048);
    CHECK(out.run_ms == doctest::Approx(4.5));

    ExitReport killed;
    killed.signal = 9;
    killed.oom_killed = true;
    const ExitReport back = exit_report_from_json(exit_report_to_json(killed));
    CHECK_FALSE(back.exit_code);
    CHECK(back.signal == 9);
    CHECK(back.oom_killed);
  }

  TEST_CASE("a malformed exit report is refused") {
    CHECK_THROWS_AS(exit_report_from_json("[]"), std::runtime_error);
    CHECK_THROWS_AS(exit_report_from_json("{}"), std::runtime_error);  // neither exit code nor signal
    CHECK_THROWS_AS(exit_report_from_json(R"({"exit_code":"0"})"), std::runtime_error);
    CHECK_THROWS_AS(exit_report_from_json(R"({"exit_code":0,"cpu_user_ms":"x"})"), std::runtime_error);
  }
}
