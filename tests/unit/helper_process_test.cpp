#include <doctest/doctest.h>

#include "util/base64.hpp"
#include "util/error.hpp"
#include "util/helper_process.hpp"

using namespace gatebox;

TEST_SUITE("util::base64") {
  TEST_CASE("encodes with padding, decodes what it encodes") {
    CHECK(encode_base64("") == "");
    CHECK(encode_base64("a") == "YQ==");
    CHECK(encode_base64("ab") == "YWI=");
    CHECK(encode_base64("abc") == "YWJj");
    CHECK(encode_base64("user:p@ss") == "dXNlcjpwQHNz");
    std::string all;
    for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
    CHECK(decode_base64(encode_base64(all), "x") == all);
  }

  TEST_CASE("decodes with or without padding, whitespace ignored; refuses the rest") {
    CHECK(decode_base64("Q0EgUEVNCg==", "x") == "CA PEM\n");
    CHECK(decode_base64("Q0VS\nVCBQ RU0K", "x") == "CERT PEM\n");
    CHECK(decode_base64("YQ", "x") == "a");
    for (const char* bad : {"a*b", "YQ==YQ", "Y"}) {
      CAPTURE(bad);
      try {
        decode_base64(bad, "the field f");
        FAIL("expected an Error");
      } catch (const Error& e) {
        CHECK(e.code() == ExitCode::unavailable);
        CHECK(std::string(e.what()).rfind("the field f is not base64", 0) == 0);
      }
    }
  }
}

TEST_SUITE("util::helper_process") {
  TEST_CASE("input in, output and exit code out") {
    const HelperResult r = run_helper({"sh", "-c", "read x; echo \"got $x\"; echo oops >&2; exit 3"}, "hello\n", 10'000);
    CHECK(r.exit_code == 3);
    CHECK_FALSE(r.timed_out);
    CHECK(r.out == "got hello\n");
    CHECK(r.err == "oops\n");
  }

  TEST_CASE("a helper that ignores its input or outlives the timeout is handled") {
    const HelperResult quiet = run_helper({"true"}, std::string(1 << 20, 'x'), 10'000);
    CHECK(quiet.exit_code == 0);
    // The helper's children hold its output open: the whole group is killed at the timeout.
    const HelperResult slow = run_helper({"sh", "-c", "sleep 30 & sleep 30"}, "", 300);
    CHECK(slow.timed_out);
    CHECK(slow.exit_code == -1);
    // One that closes its output and goes on is bounded too.
    const HelperResult closed = run_helper({"sh", "-c", "exec >/dev/null 2>&1; sleep 30"}, "", 300);
    CHECK(closed.timed_out);
    CHECK(closed.exit_code == -1);
  }

  TEST_CASE("a program that is not installed is exit 69 naming it") {
    try {
      run_helper({"gatebox-no-such-helper"}, "", 1000);
      FAIL("expected an Error");
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::unavailable);
      CHECK(std::string(e.what()) == "cannot run gatebox-no-such-helper: not found in PATH");
    }
  }
}
