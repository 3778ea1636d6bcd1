#include <doctest/doctest.h>

#include <csignal>
#include <string>

#include "verdict/verdict.hpp"

using namespace gatebox;

namespace {

Profile gate_profile() {
  Profile p;
  p.name = "unit-tests";
  p.limits.timeout = std::chrono::seconds(30);
  p.limits.memory = 1ULL << 30;
  p.verdict.file = "/gatebox/verdict.json";
  return p;
}

RunOutcome exited(int code) {
  RunOutcome o;
  o.exit_code = code;
  return o;
}

const std::string malformed_prefix = "malformed verdict file /gatebox/verdict.json: ";

void check_malformed(const std::string& contents, const std::string& expected_fragment) {
  CAPTURE(contents);
  RunOutcome o = exited(0);
  o.verdict_file = contents;
  Verdict v = decide_verdict(gate_profile(), o);
  CHECK(v.kind == VerdictKind::error);
  CHECK(v.reason.starts_with(malformed_prefix));
  CHECK_MESSAGE(v.reason.find(expected_fragment) != std::string::npos, v.reason);
  CHECK(v.file.is_null());
}

}  // namespace

TEST_SUITE("verdict") {
  TEST_CASE("exit codes: pass list, error list, everything else fails") {
    Profile p = gate_profile();
    auto v = decide_verdict(p, exited(0));
    CHECK(v.kind == VerdictKind::pass);
    CHECK(v.reason == "exit code 0");
    v = decide_verdict(p, exited(2));
    CHECK(v.kind == VerdictKind::fail);
    CHECK(v.reason == "exit code 2");
    v = decide_verdict(p, exited(125));
    CHECK(v.kind == VerdictKind::error);
    CHECK(v.reason == "exit code 125");

    p.verdict.pass = {0, 3};
    p.verdict.error = {};
    CHECK(decide_verdict(p, exited(3)).kind == VerdictKind::pass);
    CHECK(decide_verdict(p, exited(127)).kind == VerdictKind::fail);
  }

  TEST_CASE("an exec failure is the reason of the error it causes") {
    RunOutcome o = exited(127);
    o.exec_error = "execve /bin/make: No such file or directory";
    auto v = decide_verdict(gate_profile(), o);
    CHECK(v.kind == VerdictKind::error);
    CHECK(v.reason == "execve /bin/make: No such file or directory");

    Profile p = gate_profile();
    p.verdict.error = {};
    v = decide_verdict(p, o);
    CHECK(v.kind == VerdictKind::fail);
    CHECK(v.reason == "exit code 127 (execve /bin/make: No such file or directory)");
  }

  TEST_CASE("no exit status and nothing else known is an error") {
    auto v = decide_verdict(gate_profile(), RunOutcome{});
    CHECK(v.kind == VerdictKind::error);
    CHECK(v.reason == "the gate's exit status is unknown");
  }

  TEST_CASE("a stack failure beats everything the gate did") {
    RunOutcome o = exited(0);
    o.timed_out = o.oom_killed = true;
    o.signal = SIGKILL;
    o.stack_error = "docker: connection reset";
    auto v = decide_verdict(gate_profile(), o);
    CHECK(v.kind == VerdictKind::error);
    CHECK(v.reason == "stack failed: docker: connection reset");
  }

  TEST_CASE("timeout beats OOM and signal, and follows on_timeout") {
    RunOutcome o;
    o.timed_out = o.oom_killed = true;
    o.signal = SIGKILL;
    o.verdict_file = R"({"verdict": "pass"})";
    Profile p = gate_profile();
    auto v = decide_verdict(p, o);
    CHECK(v.kind == VerdictKind::fail);
    CHECK(v.reason == "timed out after 30s");
    p.verdict.on_timeout = VerdictKind::error;
    CHECK(decide_verdict(p, o).kind == VerdictKind::error);
  }

  TEST_CASE("OOM beats signal, and follows on_oom") {
    RunOutcome o;
    o.oom_killed = true;
    o.signal = SIGKILL;
    Profile p = gate_profile();
    p.verdict.on_oom = VerdictKind::error;
    auto v = decide_verdict(p, o);
    CHECK(v.kind == VerdictKind::error);
    CHECK(v.reason == "out of memory (limit 1GiB)");
  }

  TEST_CASE("a signal beats the verdict file and the exit code, and follows on_signal") {
    RunOutcome o = exited(0);
    o.signal = SIGSEGV;
    o.verdict_file = R"({"verdict": "pass"})";
    Profile p = gate_profile();
    auto v = decide_verdict(p, o);
    CHECK(v.kind == VerdictKind::fail);
    CHECK(v.reason == "killed by signal 11 (SIGSEGV)");
    p.verdict.on_signal = VerdictKind::pass;
    o.signal = SIGKILL;
    v = decide_verdict(p, o);
    CHECK(v.kind == VerdictKind::pass);
    CHECK(v.reason == "killed by signal 9 (SIGKILL)");
  }

  TEST_CASE("the verdict file beats the exit code and keeps all its keys") {
    RunOutcome o = exited(1);
    o.verdict_file = R"({"verdict": "pass", "reason": "lint clean", "warnings": 3})";
    auto v = decide_verdict(gate_profile(), o);
    CHECK(v.kind == VerdictKind::pass);
    CHECK(v.reason == "verdict file: lint clean");
    CHECK(v.file["warnings"] == 3);
    CHECK(v.file["verdict"] == "pass");

    o = exited(0);
    o.verdict_file = R"({"verdict": "fail"})";
    v = decide_verdict(gate_profile(), o);
    CHECK(v.kind == VerdictKind::fail);
    CHECK(v.reason == "verdict file (no reason given)");
  }

  TEST_CASE("a verdict file is ignored unless the profile names one") {
    RunOutcome o = exited(2);
    o.verdict_file = R"({"verdict": "pass"})";
    Profile p = gate_profile();
    p.verdict.file.clear();
    auto v = decide_verdict(p, o);
    CHECK(v.kind == VerdictKind::fail);
    CHECK(v.file.is_null());
  }

  TEST_CASE("a reason from the verdict file cannot carry terminal escapes") {
    RunOutcome o = exited(0);
    o.verdict_file = R"({"verdict": "fail", "reason": "\u001b]0;pwned\u0007bad"})";
    auto v = decide_verdict(gate_profile(), o);
    CHECK(v.reason == R"(verdict file: \x1b]0;pwned\x07bad)");
  }

  TEST_CASE("malformed verdict files are errors that say what is wrong") {
    check_malformed("pass", "not JSON: parse error at line 1, column 1");
    check_malformed(R"({"verdict": "pass")", "not JSON");
    check_malformed("", "the file is empty");
    check_malformed("\n", "the file is empty");
    check_malformed(R"(["pass"])", "expected a JSON object, got array");
    check_malformed(R"("pass")", "expected a JSON object, got string");
    check_malformed(R"({"reason": "x"})", "no \"verdict\" key");
    check_malformed(R"({"verdict": "maybe"})", R"("verdict" is another string; it must be "pass", "fail" or "error")");
    check_malformed(R"({"verdict": 0})", R"("verdict" is a number;)");
    check_malformed(R"({"verdict": "PASS"})", R"("verdict" is another string)");
    check_malformed(R"({"verdict": "pass", "reason": 42})", R"("reason" is a number; it must be a string)");
    check_malformed("{\"verdict\": \"pass\", \"reason\": \"\xff\"}", "not JSON");
    std::string big = R"({"verdict": "pass", "reason": ")" + std::string(64 * 1024, 'x') + "\"}";
    check_malformed(big, "the limit is 64 KiB");
  }

  TEST_CASE("a malformed verdict file's content never appears in the reason") {
    // The gate chooses the file: once it was /proc/1/environ, and the parse error quoted
    // gatebox's environment. Each file holds the secret where an error would quote it.
    const std::string secret = "GBSECRET";
    for (const std::string& text : {secret + "=1\nPATH=/bin", "P" + secret, "{\"verdict\": \"" + secret + "\"}",
                                    "{\"verdict\": [\"" + secret + "\"]}", "{\"verdict\": \"pass\", \"reason\": {\"" + secret + "\": 1}}",
                                    "{\"verdict\": \"pass\", \"" + secret + "\": 1", "[\"" + secret + "\"]", "\"" + secret + "\xff\"",
                                    "{\"verdict\": \"pass\", \"reason\": \"" + secret + "\xff\"}"}) {
      CAPTURE(text);
      RunOutcome o = exited(0);
      o.verdict_file = text;
      Verdict v = decide_verdict(gate_profile(), o);
      CHECK(v.kind == VerdictKind::error);
      CHECK_MESSAGE(v.reason.find(secret) == std::string::npos, v.reason);
      CHECK_MESSAGE(v.reason.find("GB") == std::string::npos, v.reason);
      CHECK_MESSAGE(v.reason.find("'") == std::string::npos, v.reason);  // nothing quoted from the input
    }
    check_malformed(secret + "=1", "not JSON: parse error at line 1, column 1");
  }

  TEST_CASE("a verdict file the stack found unsafe is reported as such, not as bad JSON") {
    check_malformed(std::string(kUnsafeVerdictFile) + ")", "not a regular file of at most 64 KiB that the gate itself can read");
    check_malformed(std::string(kUnsafeVerdictFile) + ": a symlink)", "not a regular file of at most 64 KiB");
  }

  TEST_CASE("a verdict file of exactly 64 KiB is still read") {
    std::string head = R"({"verdict": "pass", "reason": ")";
    std::string doc = head + std::string(64 * 1024 - head.size() - 2, 'x') + "\"}";
    REQUIRE(doc.size() == 64 * 1024);
    RunOutcome o = exited(1);
    o.verdict_file = doc;
    CHECK(decide_verdict(gate_profile(), o).kind == VerdictKind::pass);
  }

  TEST_CASE("an interrupted run is an error naming the signal") {
    RunOutcome o = exited(0);
    o.interrupted = true;
    o.interrupt_signal = SIGINT;
    o.signal = SIGKILL;
    auto v = decide_verdict(gate_profile(), o);
    CHECK(v.kind == VerdictKind::error);
    CHECK(v.reason == "interrupted by SIGINT");
  }

  TEST_CASE("exit codes of verdicts and signal names") {
    CHECK(verdict_exit_code(VerdictKind::pass) == 0);
    CHECK(verdict_exit_code(VerdictKind::fail) == 1);
    CHECK(verdict_exit_code(VerdictKind::error) == 2);
    CHECK(signal_name(SIGTERM) == "SIGTERM");
    CHECK(signal_name(SIGSYS) == "SIGSYS");
    CHECK(signal_name(SIGRTMIN + 2) == "SIGRTMIN+2");
    CHECK(signal_name(200) == "signal 200");
  }
}
