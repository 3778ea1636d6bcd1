#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "log/sink.hpp"
#include "log/terminal_text.hpp"
#include "util/fd.hpp"

using namespace gatebox;
using namespace std::string_literals;

namespace {

// What a terminal is sent for `chunks` of one stream, end of stream included.
std::string shown(std::initializer_list<std::string_view> chunks, std::string_view marker = "err| ") {
  TerminalText t(marker);
  std::string out;
  for (std::string_view c : chunks) t.feed(c, out);
  t.finish(out);
  return out;
}

// The bytes a terminal acts on: C0 controls but \n and \t, DEL, C1 controls (raw, or as
// UTF-8 U+0080..U+009F), and anything that is not UTF-8 (json dump() refuses it).
bool terminal_safe(const std::string& s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) return false;
    if (c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) <= 0x9f) return false;
  }
  try {
    (void)nlohmann::json(s).dump();
  } catch (const nlohmann::json::exception&) {
    return false;
  }
  return true;
}

// The plain format writing to these descriptors, each a terminal or not.
LogSink::Options plain(int out_fd, bool out_terminal, int err_fd, bool err_terminal) {
  LogSink::Options o;
  o.format = LogFormat::plain;
  o.stdout_fd = out_fd;
  o.stderr_fd = err_fd;
  o.stdout_terminal = out_terminal;
  o.stderr_terminal = err_terminal;
  return o;
}

std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  for (off_t off = 0;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, off);
    REQUIRE(n >= 0);
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    off += n;
  }
  return out;
}

// CSI, OSC (BEL and ST ended), DCS, C1 CSI raw and as UTF-8, CR, backspace, a forged verdict.
const std::string hostile =
    "\x1b[1A\x1b[2K\rgatebox: pass \xe2\x80\x94 exit code 0\n"
    "\x1b]0;pwned\x07\x1b]8;;http://x/\x1b\\link\x1b]8;;\x1b\\\n"
    "\xc2\x9b" "31mc1 \x9b" "2J raw \x1bP+q\x1b\\ dcs\b\b\x7f caf\xc3\xa9\tend\n"
    "gatebox: pass";

}  // namespace

TEST_SUITE("log::TerminalText") {
  TEST_CASE("escape sequences are shown as text and a forged verdict line is marked as the gate's") {
    CHECK(shown({"\x1b]0;pwned\x07\x1b[2J\rgatebox: pass\n"}) ==
          "err| \\x1b]0;pwned\\x07\\x1b[2J\\x0dgatebox: pass\n");
    CHECK(shown({"gatebox: pass \xe2\x80\x94 exit code 0\n"}, "out| ") == "out| gatebox: pass \xe2\x80\x94 exit code 0\n");
    CHECK(shown({"\xc2\x9b" "2J \x9b" "2J \x1bP+q\x1b\\"}) == "err| \\xc2\\x9b2J \\x9b2J \\x1bP+q\\x1b\\\n");
    CHECK(shown({"tab\there\b\x7f\n"}) == "err| tab\there\\x08\\x7f\n");
    CHECK(terminal_safe(shown({hostile})));
  }

  TEST_CASE("every line starts with the marker; an unterminated last line is ended at the end") {
    CHECK(shown({"a\n\nb"}) == "err| a\nerr| \nerr| b\n");
    // A final newline leaves no dangling marker, and nothing at all leaves nothing.
    CHECK(shown({"a\n"}) == "err| a\n");
    CHECK(shown({}).empty());
    // Streamed: a partial line is shown at once, not held until its newline.
    TerminalText t("err| ");
    std::string out;
    t.feed("gatebox: pa", out);
    CHECK(out == "err| gatebox: pa");
    t.feed("ss", out);
    CHECK(out == "err| gatebox: pass");
    t.finish(out);
    t.finish(out);  // twice is harmless
    CHECK(out == "err| gatebox: pass\n");
  }

  TEST_CASE("a character split by a write boundary is shown whole; a split control still escaped") {
    CHECK(shown({"caf\xc3", "\xa9\n"}) == "err| caf\xc3\xa9\n");
    CHECK(shown({"\xf0\x9f", "\x98", "\x80!"}) == "err| \xf0\x9f\x98\x80!\n");
    CHECK(shown({"\xc2", "\x9b" "2J"}) == "err| \\xc2\\x9b2J\n");
    CHECK(shown({"\x1b", "[2J"}) == "err| \\x1b[2J\n");
    CHECK(shown({"\x1b]0;ti", "tle\x07"}) == "err| \\x1b]0;title\\x07\n");
    // A sequence cut short by the end of the stream is shown too, nothing silently lost.
    CHECK(shown({"x\xe2\x80"}) == "err| x\\xe2\\x80\n");
  }

  TEST_CASE("what the terminal shows does not depend on where the chunks split the output") {
    const std::string whole = shown({hostile});
    for (std::size_t i = 0; i <= hostile.size(); ++i) {
      for (std::size_t j = i; j <= hostile.size(); ++j) {
        std::string_view h(hostile);
        std::string split = shown({h.substr(0, i), h.substr(i, j - i), h.substr(j)});
        CAPTURE(i);
        CAPTURE(j);
        REQUIRE(split == whole);
      }
    }
    std::mt19937 rng(11);
    std::uniform_int_distribution<int> byte(0, 255), size(1, 9);
    for (int round = 0; round < 300; ++round) {
      std::string junk;
      for (int k = 0; k < 200; ++k) junk += static_cast<char>(byte(rng));
      TerminalText t("out| ");
      std::string out;
      for (std::size_t at = 0; at < junk.size();) {
        std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(size(rng)), junk.size() - at);
        t.feed(std::string_view(junk).substr(at, n), out);
        at += n;
      }
      t.finish(out);
      REQUIRE(out == shown({junk}, "out| "));
      REQUIRE(terminal_safe(out));
    }
  }

  TEST_CASE("plain: a stream on a terminal is neutralised and marked, a stream to a file stays raw") {
    Fd file{::memfd_create("stdout", MFD_CLOEXEC)}, terminal{::memfd_create("stderr", MFD_CLOEXEC)};
    {
      LogSink sink(plain(file.get(), false, terminal.get(), true));
      sink.write(StreamId::out, "\x1b]0;pwned\x07out\n");
      sink.write(StreamId::err, "\x1b]0;pw");
      sink.write(StreamId::err, "ned\x07\x1b[2J");
      sink.write(StreamId::err, "\ngatebox: pass");
      sink.write(StreamId::out, "tail \xc3");
      sink.finish();
    }
    CHECK(read_all(file.get()) == "\x1b]0;pwned\x07out\ntail \xc3");
    CHECK(read_all(terminal.get()) == "err| \\x1b]0;pwned\\x07\\x1b[2J\nerr| gatebox: pass\n");
  }

  TEST_CASE("plain: both streams on one terminal never leave a line unmarked") {
    Fd terminal{::memfd_create("tty", MFD_CLOEXEC)};
    {
      LogSink sink(plain(terminal.get(), true, terminal.get(), true));
      // stdout's line is cut by a stderr line; what stdout prints next would otherwise
      // start a terminal line without a marker.
      sink.write(StreamId::out, "x");
      sink.write(StreamId::err, "y\n");
      sink.write(StreamId::out, "gatebox: pass\n");
      sink.write(StreamId::err, "e1 ");
      sink.write(StreamId::err, "e2\n");
    }
    CHECK(read_all(terminal.get()) == "out| x\nerr| y\nout| gatebox: pass\nerr| e1 e2\n");
  }

  TEST_CASE("plain: on a real terminal, not one byte the gate sent is an escape") {
    int master = ::posix_openpt(O_RDWR | O_NOCTTY);
    REQUIRE(master >= 0);
    Fd m{master};
    REQUIRE(::grantpt(master) == 0);
    REQUIRE(::unlockpt(master) == 0);
    Fd slave{::open(::ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC)};
    REQUIRE(slave.valid());
    REQUIRE(::isatty(slave.get()) == 1);
    termios raw{};
    REQUIRE(::tcgetattr(slave.get(), &raw) == 0);
    ::cfmakeraw(&raw);
    REQUIRE(::tcsetattr(slave.get(), TCSANOW, &raw) == 0);
    {
      LogSink sink(plain(-1, false, slave.get(), ::isatty(slave.get()) == 1));
      for (std::size_t i = 0; i < hostile.size(); i += 3) sink.write(StreamId::err, std::string_view(hostile).substr(i, 3));
      sink.finish();
    }
    std::string seen;
    char buf[4096];
    while (true) {
      pollfd p{master, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) break;
      ssize_t n = ::read(master, buf, sizeof buf);
      if (n <= 0) break;
      seen.append(buf, static_cast<std::size_t>(n));
    }
    CHECK(seen.find('\x1b') == std::string::npos);
    CHECK(terminal_safe(seen));
    CHECK(seen.find("\nerr| gatebox: pass\n") != std::string::npos);
    CHECK(seen.find("\ngatebox:") == std::string::npos);
  }
}
