// The host half of the frame protocol both VM stacks share: what reaches the log, when the
// gate counts as started and ended, what a forged or broken stream does to the outcome,
// and how a guest that stops without reporting is explained.
#include <doctest/doctest.h>

#include <cstdio>
#include <unistd.h>

#include "stack/vm/guest_session.hpp"
#include "stack/vm/job.hpp"

using namespace gatebox;
using namespace gatebox::vm;

namespace {

Secret secret_of(std::uint8_t fill) {
  Secret s{};
  s.fill(fill);
  return s;
}

// A log sink whose stdout and stderr go to temp files, read back with out()/err().
struct CapturedSink {
  std::FILE* out_file = std::tmpfile();
  std::FILE* err_file = std::tmpfile();
  LogSink sink{[&] {
    LogSink::Options o;
    o.format = LogFormat::plain;
    o.stdout_fd = fileno(out_file);
    o.stderr_fd = fileno(err_file);
    return o;
  }()};
  ~CapturedSink() {
    std::fclose(out_file);
    std::fclose(err_file);
  }
  static std::string read_all(std::FILE* f) {
    std::string text;
    char buf[4096];
    ::lseek(fileno(f), 0, SEEK_SET);
    for (ssize_t r; (r = ::read(fileno(f), buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(r));
    return text;
  }
  std::string out() { sink.finish(); return read_all(out_file); }
  std::string err() { sink.finish(); return read_all(err_file); }
};

std::string exit_frame(const Secret& s, std::uint32_t seq, int code) {
  ExitReport r;
  r.exit_code = code;
  r.cpu_user_ms = 12;
  r.max_rss_kib = 3000;
  r.run_ms = 42.5;
  return encode_frame(s, FrameType::exit, seq, exit_report_to_json(r));
}

}  // namespace

TEST_SUITE("qemu") {
  TEST_CASE("a normal run: output streams live, started and exit are seen, kernel noise is skipped") {
    const Secret s = secret_of(7);
    CapturedSink cap;
    GuestSession session(s, cap.sink);
    session.feed("[    0.000000] Linux version 6.1.0\r\n");
    session.feed(encode_frame(s, FrameType::hello, 0, "agent 1"));
    CHECK_FALSE(session.started());
    session.feed(encode_frame(s, FrameType::started, 1, ""));
    CHECK(session.started());
    // A frame split across reads still arrives whole.
    const std::string out = encode_frame(s, FrameType::out, 2, "hello from the gate\n");
    session.feed(out.substr(0, 10));
    session.feed(out.substr(10));
    CHECK(cap.out() == "hello from the gate\n");
    session.feed(encode_frame(s, FrameType::err, 3, "oops\n"));
    CHECK(cap.err() == "oops\n");
    CHECK_FALSE(session.finished());
    session.feed(exit_frame(s, 4, 3));
    REQUIRE(session.finished());
    REQUIRE(session.exit_report().has_value());
    CHECK(session.exit_report()->exit_code == 3);
    CHECK(session.agent_version() == "agent 1");
    CHECK(session.rejected() == 0);
    CHECK_FALSE(session.malformed().has_value());

    RunOutcome outcome;
    apply_exit_report(*session.exit_report(), std::nullopt, outcome);
    CHECK(outcome.exit_code == 3);
    CHECK(outcome.usage.cpu_user_ms == 12);
    CHECK(outcome.usage.max_rss_kib == 3000);
    CHECK(outcome.timings.run_ms == doctest::Approx(42.5));
  }

  TEST_CASE("frames made with another secret are ignored and counted; the verdict stays the agent's") {
    const Secret s = secret_of(7);
    const Secret forged = secret_of(8);
    CapturedSink cap;
    GuestSession session(s, cap.sink);
    session.feed(encode_frame(s, FrameType::started, 0, ""));
    session.feed(encode_frame(forged, FrameType::out, 1, "FORGED OUTPUT\n"));
    session.feed(encode_frame(forged, FrameType::exit, 1, R"({"exit_code":0})"));
    // The magic followed by junk that looks like a header.
    session.feed(std::string("\x1bGB1\x06\x01\x00\x00\x00\x10\x00\x00\x00junkjunkjunk", 25));
    CHECK_FALSE(session.finished());
    session.feed(encode_frame(s, FrameType::out, 1, "real\n"));
    session.feed(exit_frame(s, 2, 1));
    REQUIRE(session.exit_report().has_value());
    CHECK(session.exit_report()->exit_code == 1);
    CHECK(session.rejected() >= 3);
    const std::string shown = cap.out();
    CHECK(shown == "real\n");
  }

  TEST_CASE("an authentic frame out of sequence makes the stream malformed") {
    const Secret s = secret_of(1);
    CapturedSink cap;
    GuestSession session(s, cap.sink);
    session.feed(encode_frame(s, FrameType::started, 0, ""));
    session.feed(encode_frame(s, FrameType::out, 2, "after a gap\n"));  // seq 1 lost
    CHECK(session.finished());
    REQUIRE(session.malformed().has_value());
    CHECK(session.malformed()->find("sequence") != std::string::npos);
    CHECK_FALSE(session.exit_report().has_value());
  }

  TEST_CASE("a failure frame carries the agent's reason; an unreadable exit report is malformed") {
    const Secret s = secret_of(2);
    CapturedSink cap;
    GuestSession failed(s, cap.sink);
    failed.feed(encode_frame(s, FrameType::failure, 0, "mount /proc: Operation not permitted"));
    REQUIRE(failed.failure().has_value());
    CHECK(*failed.failure() == "mount /proc: Operation not permitted");
    CHECK_FALSE(failed.started());

    GuestSession bad(s, cap.sink);
    bad.feed(encode_frame(s, FrameType::started, 0, ""));
    bad.feed(encode_frame(s, FrameType::exit, 1, "not json"));
    REQUIRE(bad.malformed().has_value());
    CHECK(bad.malformed()->find("exit report") != std::string::npos);
  }

  TEST_CASE("verdict frames are appended in order") {
    const Secret s = secret_of(3);
    CapturedSink cap;
    GuestSession session(s, cap.sink);
    session.feed(encode_frame(s, FrameType::started, 0, ""));
    session.feed(encode_frame(s, FrameType::verdict, 1, R"({"verdict":)"));
    session.feed(encode_frame(s, FrameType::verdict, 2, R"("pass"})"));
    session.feed(exit_frame(s, 3, 0));
    REQUIRE(session.verdict_file().has_value());
    CHECK(*session.verdict_file() == R"({"verdict":"pass"})");
  }

  TEST_CASE("nothing after the last frame counts") {
    const Secret s = secret_of(4);
    CapturedSink cap;
    GuestSession session(s, cap.sink);
    session.feed(encode_frame(s, FrameType::started, 0, ""));
    session.feed(exit_frame(s, 1, 0));
    session.feed(encode_frame(s, FrameType::out, 2, "late\n"));
    CHECK(cap.out().empty());
    CHECK(session.exit_report()->exit_code == 0);
  }

  TEST_CASE("a guest that stops silently: a panic is named, anything else quotes the console") {
    // Recorded from a Debian 6.1 guest whose init exited.
    const std::string panic =
        "[    3.120000] Run /.gatebox/init as init process\r\n"
        "[    3.200000] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100\r\n"
        "[    3.200100] CPU: 0 PID: 1 Comm: init Not tainted 6.1.0-57-amd64 #1  Debian 6.1.158-1\r\n"
        "[    3.200200] Rebooting in 1 seconds..\r\n";
    CHECK(classify_silent_stop(panic) ==
          "guest kernel panic: Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100");
    const std::string other = classify_silent_stop("[    1.0] reboot: Power down\r\n");
    CHECK(other.find("rebooted or powered off") != std::string::npos);
    CHECK(other.find("reboot: Power down") != std::string::npos);
    CHECK(classify_silent_stop("").find("(nothing)") != std::string::npos);
  }

  TEST_CASE("console excerpts are short, printable and keep the last lines") {
    const std::string excerpt = console_excerpt("a\r\nb\r\n\x1b[31mc\r\nd\r\ne\r\nf\r\n", 3);
    CHECK(excerpt == "d | e | f");
    CHECK(console_excerpt("\x1b[0m\n").find('\x1b') == std::string::npos);
    CHECK(console_excerpt(std::string(5000, 'x'), 5, 100).size() <= 104);
  }
}
