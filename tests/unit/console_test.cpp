#include <doctest/doctest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "log/console.hpp"
#include "util/fd.hpp"

using namespace gatebox;

namespace {

// Points the process-wide console at an in-memory file for one test, then puts it back.
struct ConsoleCapture {
  Fd fd{::memfd_create("console_test", MFD_CLOEXEC)};
  Console& console = Console::get();

  ConsoleCapture(bool tty, ColorMode color, Verbosity verbosity, const char* no_color = nullptr) {
    if (no_color) {
      ::setenv("NO_COLOR", no_color, 1);
    } else {
      ::unsetenv("NO_COLOR");
    }
    ::setenv("TERM", "xterm-256color", 1);
    console.configure_for_test(fd.get(), tty);
    console.configure(color, verbosity);
  }
  ~ConsoleCapture() {
    ::unsetenv("NO_COLOR");
    console.configure_for_test(2, ::isatty(2) == 1);
    console.configure(ColorMode::auto_, Verbosity::normal);
  }
  std::string text() const {
    std::string out;
    char buf[4096];
    off_t off = 0;
    for (ssize_t n; (n = ::pread(fd.get(), buf, sizeof buf, off)) > 0; off += n) out.append(buf, static_cast<std::size_t>(n));
    return out;
  }
};

bool has_escape(const std::string& s) { return s.find('\x1b') != std::string::npos; }

}  // namespace

TEST_SUITE("log::Console") {
  TEST_CASE("every line starts with 'gatebox: ' and has no colour when not on a terminal") {
    ConsoleCapture c(false, ColorMode::auto_, Verbosity::normal);
    c.console.info("unpacking rootfs");
    c.console.warn("low disk");
    c.console.error("profile.toml:3:1: bad\nsecond line");
    CHECK(c.text() ==
          "gatebox: unpacking rootfs\n"
          "gatebox: warning: low disk\n"
          "gatebox: error: profile.toml:3:1: bad\n"
          "gatebox: second line\n");
    CHECK_FALSE(c.console.color());
  }

  TEST_CASE("colour on a terminal: errors red, warnings yellow") {
    ConsoleCapture c(true, ColorMode::auto_, Verbosity::normal);
    CHECK(c.console.color());
    c.console.error("boom");
    c.console.warn("careful");
    CHECK(c.text() == "gatebox: \x1b[31merror: boom\x1b[0m\ngatebox: \x1b[33mwarning: careful\x1b[0m\n");
  }

  TEST_CASE("NO_COLOR turns colour off on a terminal, unless it is empty") {
    {
      ConsoleCapture c(true, ColorMode::auto_, Verbosity::normal, "1");
      c.console.error("boom");
      CHECK_FALSE(has_escape(c.text()));
    }
    {
      ConsoleCapture c(true, ColorMode::auto_, Verbosity::normal, "");
      c.console.error("boom");
      CHECK(has_escape(c.text()));
    }
  }

  TEST_CASE("--color always and never override the terminal test and NO_COLOR") {
    {
      ConsoleCapture c(false, ColorMode::always, Verbosity::normal, "1");
      c.console.error("boom");
      CHECK(has_escape(c.text()));
    }
    {
      ConsoleCapture c(true, ColorMode::never, Verbosity::normal);
      c.console.error("boom");
      c.console.verdict("pass", "exit code 0 (native, 0.01s)");
      CHECK_FALSE(has_escape(c.text()));
    }
  }

  TEST_CASE("quiet keeps only errors and the verdict line") {
    ConsoleCapture c(true, ColorMode::never, Verbosity::quiet);
    c.console.info("info");
    c.console.warn("warn");
    c.console.detail("detail");
    c.console.progress("unpacking rootfs", 1, 2);
    c.console.error("boom");
    c.console.verdict("fail", "exit code 2 (native, 0.82s)");
    CHECK(c.text() == "gatebox: error: boom\ngatebox: fail — exit code 2 (native, 0.82s)\n");
  }

  TEST_CASE("details only with --verbose, and dim in colour") {
    {
      ConsoleCapture c(false, ColorMode::never, Verbosity::normal);
      c.console.detail("cgroup v1 hybrid");
      CHECK(c.text().empty());
    }
    {
      ConsoleCapture c(false, ColorMode::always, Verbosity::verbose);
      c.console.detail("cgroup v1 hybrid");
      CHECK(c.text() == "gatebox: \x1b[2mcgroup v1 hybrid\x1b[0m\n");
    }
  }

  TEST_CASE("the verdict word is coloured by verdict; the whole verdict_line is accepted too") {
    ConsoleCapture c(false, ColorMode::always, Verbosity::normal);
    c.console.verdict("pass", "exit code 0 (native, 0.10s)");
    c.console.verdict("fail", "fail — exit code 2 (native, 0.82s)");
    c.console.verdict("error", "timed out after 30s (docker, 30.02s)");
    CHECK(c.text() ==
          "gatebox: \x1b[1;32mpass\x1b[0m — exit code 0 (native, 0.10s)\n"
          "gatebox: \x1b[1;31mfail\x1b[0m — exit code 2 (native, 0.82s)\n"
          "gatebox: \x1b[1;33merror\x1b[0m — timed out after 30s (docker, 30.02s)\n");
  }

  TEST_CASE("messages quoting the gate cannot smuggle terminal escapes") {
    ConsoleCapture c(false, ColorMode::never, Verbosity::normal);
    c.console.verdict("fail", "verdict file: \x1b]0;owned\x07 (native, 0.10s)");
    CHECK(c.text() == "gatebox: fail — verdict file: \\x1b]0;owned\\x07 (native, 0.10s)\n");
  }

  TEST_CASE("progress rewrites one line on a terminal, and the next message clears it") {
    ConsoleCapture c(true, ColorMode::never, Verbosity::normal);
    std::uint64_t total = 27ULL * 1024 * 1024;
    std::uint64_t done = 12897485;  // 12.3 MiB
    c.console.progress("unpacking rootfs", done, total);
    CHECK(c.text() == "\r\x1b[2Kgatebox: unpacking rootfs  45% (12.3/27.0 MiB)");
    // Throttled: an update right after is not drawn, but completion always is.
    c.console.progress("unpacking rootfs", done + 1, total);
    CHECK(c.text() == "\r\x1b[2Kgatebox: unpacking rootfs  45% (12.3/27.0 MiB)");
    c.console.progress("unpacking rootfs", total, total);
    CHECK(c.text().ends_with("\r\x1b[2Kgatebox: unpacking rootfs 100% (27.0/27.0 MiB)"));
    c.console.info("rootfs ready");
    CHECK(c.text().ends_with("100% (27.0/27.0 MiB)\r\x1b[2Kgatebox: rootfs ready\n"));
    std::size_t before = c.text().size();
    c.console.progress_done();  // nothing shown any more: nothing to clear
    CHECK(c.text().size() == before);
    c.console.progress("unpacking rootfs", 10, total);
    c.console.progress_done();
    CHECK(c.text().ends_with("\r\x1b[2K"));
  }

  TEST_CASE("no progress line when stderr is not a terminal") {
    ConsoleCapture c(false, ColorMode::always, Verbosity::verbose);
    c.console.progress("unpacking rootfs", 5, 10);
    c.console.progress_done();
    CHECK(c.text().empty());
  }
}
