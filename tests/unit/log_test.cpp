#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "log/sink.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"

using namespace gatebox;
using namespace std::string_view_literals;
using namespace std::string_literals;

namespace {

// An in-memory file standing in for the terminal, so what the sink wrote can be read back.
struct Capture {
  Fd fd{::memfd_create("log_test", MFD_CLOEXEC)};
  std::string text() const {
    std::string out;
    char buf[65536];
    off_t off = 0;
    while (true) {
      ssize_t n = ::pread(fd.get(), buf, sizeof buf, off);
      REQUIRE(n >= 0);
      if (n == 0) break;
      out.append(buf, static_cast<std::size_t>(n));
      off += n;
    }
    return out;
  }
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The text of a prefixed line, after "HH:MM:SS.mmm out| ".
std::string prefixed_text(const std::string& line) {
  static const std::regex shape(R"(^\d\d:\d\d:\d\d\.\d{3} (out|err)\| )");
  std::smatch m;
  REQUIRE_MESSAGE(std::regex_search(line, m, shape), line);
  return line.substr(static_cast<std::size_t>(m.length(0)));
}

// Sink options writing to the given descriptors.
LogSink::Options opts(LogFormat format, int out_fd, int err_fd = -1, std::uint64_t cap = 16ULL << 20) {
  LogSink::Options o;
  o.format = format;
  o.cap_per_stream = cap;
  o.stdout_fd = out_fd;
  o.stderr_fd = err_fd;
  return o;
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "gatebox-log-test-XXXXXX").string();
    REQUIRE(::mkdtemp(t.data()) != nullptr);
    path = t;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_SUITE("log") {
  TEST_CASE("plain passes every byte through unchanged, each stream to its own fd") {
    Capture out, err;
    LogSink sink(opts(LogFormat::plain, out.fd.get(), err.fd.get()));
    std::string nasty = "\x1b]0;title\x07\x1b[2J\rpartial \xff\xfe";
    sink.write(StreamId::out, "hello\n");
    sink.write(StreamId::out, nasty);
    sink.write(StreamId::err, "oops\n");
    // Streamed as it arrives: visible before finish().
    CHECK(out.text() == "hello\n" + nasty);
    CHECK(err.text() == "oops\n");
    sink.finish();
    CHECK(out.text() == "hello\n" + nasty);
    CHECK(sink.stats().stdout_bytes == 6 + nasty.size());
    CHECK(sink.stats().stderr_bytes == 5);
    CHECK_FALSE(sink.stats().truncated);
  }

  TEST_CASE("prefixed shows each line with a time and its stream, on stdout") {
    Capture out, err;
    LogSink sink(opts(LogFormat::prefixed, out.fd.get(), err.fd.get()));
    sink.write(StreamId::out, "one\ntwo\n");
    sink.write(StreamId::err, "bad\n\n");
    sink.finish();
    auto lines = lines_of(out.text());
    REQUIRE(lines.size() == 4);
    CHECK(std::regex_match(lines[0], std::regex(R"(\d\d:\d\d:\d\d\.\d{3} out\| one)")));
    CHECK(std::regex_match(lines[2], std::regex(R"(\d\d:\d\d:\d\d\.\d{3} err\| bad)")));
    CHECK(prefixed_text(lines[1]) == "two");
    CHECK(prefixed_text(lines[3]).empty());
    CHECK(err.text().empty());
  }

  TEST_CASE("a partial line is held until its newline, and shown at finish()") {
    Capture out;
    LogSink sink(opts(LogFormat::prefixed, out.fd.get()));
    sink.write(StreamId::out, "hel");
    CHECK(out.text().empty());
    sink.write(StreamId::out, "lo\nwor");
    auto lines = lines_of(out.text());
    REQUIRE(lines.size() == 1);
    CHECK(prefixed_text(lines[0]) == "hello");
    // The other stream's complete lines are not held up by it.
    sink.write(StreamId::err, "err line\n");
    REQUIRE(lines_of(out.text()).size() == 2);
    sink.finish();
    lines = lines_of(out.text());
    REQUIRE(lines.size() == 3);
    CHECK(lines[1].find(" err| err line") != std::string::npos);
    CHECK(prefixed_text(lines[2]) == "wor");
  }

  TEST_CASE("a line longer than 64 KiB is shown in pieces without waiting for its end") {
    Capture out;
    LogSink sink(opts(LogFormat::prefixed, out.fd.get()));
    sink.write(StreamId::out, std::string(70000, 'a'));
    auto lines = lines_of(out.text());
    REQUIRE(lines.size() == 1);
    CHECK(prefixed_text(lines[0]) == std::string(65536, 'a'));
    sink.write(StreamId::out, "b\n");
    lines = lines_of(out.text());
    REQUIRE(lines.size() == 2);
    CHECK(prefixed_text(lines[1]) == std::string(70000 - 65536, 'a') + "b");
  }

  TEST_CASE("splitting a long line never cuts a UTF-8 character in two") {
    Capture out;
    LogSink sink(opts(LogFormat::prefixed, out.fd.get()));
    sink.write(StreamId::out, std::string(65535, 'a') + "é!");
    sink.finish();
    auto lines = lines_of(out.text());
    REQUIRE(lines.size() == 2);
    CHECK(prefixed_text(lines[0]) == std::string(65535, 'a'));
    CHECK(prefixed_text(lines[1]) == "é!");
  }

  TEST_CASE("prefixed neutralises terminal escapes, CR and invalid UTF-8 but keeps TAB and text") {
    Capture out;
    LogSink sink(opts(LogFormat::prefixed, out.fd.get()));
    sink.write(StreamId::out, "\x1b]0;pwned\x07title\n");         // OSC: set the window title
    sink.write(StreamId::out, "\x1b[1A\x1b[2Khidden\n");          // cursor up + erase line
    sink.write(StreamId::out, "progress 50%\rprogress 100%\r\n");  // CR would overwrite the prefix
    sink.write(StreamId::out, "csi \x9b" "31m c1 \xc2\x9b" "0m\n");   // C1 CSI, raw and as UTF-8
    sink.write(StreamId::out, "bad \xff\xc3 x\tgood: h\xc3\xa9llo \xe2\x9c\x93\n");
    sink.finish();
    std::string all = out.text();
    CHECK(all.find('\x1b') == std::string::npos);
    CHECK(all.find('\r') == std::string::npos);
    CHECK(all.find('\x07') == std::string::npos);
    auto lines = lines_of(all);
    REQUIRE(lines.size() == 5);
    CHECK(prefixed_text(lines[0]) == R"(\x1b]0;pwned\x07title)");
    CHECK(prefixed_text(lines[1]) == R"(\x1b[1A\x1b[2Khidden)");
    CHECK(prefixed_text(lines[2]) == R"(progress 50%\x0dprogress 100%\x0d)");
    CHECK(prefixed_text(lines[3]) == R"(csi \x9b31m c1 \xc2\x9b0m)");
    CHECK(prefixed_text(lines[4]) == "bad \\xff\\xc3 x\tgood: h\xc3\xa9llo \xe2\x9c\x93");
  }

  TEST_CASE("json writes one parseable object per line, with UTC time, stream and text") {
    Capture out, err;
    LogSink sink(opts(LogFormat::json, out.fd.get(), err.fd.get()));
    sink.write(StreamId::out, "hello \"world\"\n");
    sink.write(StreamId::err, "\x1b[31mred\x1b[0m \xff\xfe end\n");
    sink.write(StreamId::out, "caf\xc3\xa9 \xf0\x9f\x98\x80 no newline");
    sink.finish();
    CHECK(err.text().empty());
    auto lines = lines_of(out.text());
    REQUIRE(lines.size() == 3);
    std::vector<nlohmann::json> docs;
    for (const auto& l : lines) docs.push_back(nlohmann::json::parse(l));  // strict: valid UTF-8 only
    CHECK(docs[0]["stream"] == "stdout");
    CHECK(docs[0]["text"] == "hello \"world\"");
    CHECK(docs[1]["stream"] == "stderr");
    // Nothing dropped: every byte that was not printable is spelled out.
    CHECK(docs[1]["text"] == R"(\x1b[31mred\x1b[0m \xff\xfe end)");
    CHECK(docs[2]["text"] == "caf\xc3\xa9 \xf0\x9f\x98\x80 no newline");
    CHECK(lines[0].starts_with(R"({"t": ")"));
    for (const auto& d : docs) {
      REQUIRE(d["t"].is_string());
      std::string t = d["t"];
      CHECK(std::regex_match(t, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
      // UTC of today (or of a few seconds ago, around midnight).
      time_t now = ::time(nullptr);
      tm parts{};
      gmtime_r(&now, &parts);
      CHECK(t.starts_with(std::to_string(parts.tm_year + 1900) + "-"));
    }
  }

  TEST_CASE("output beyond the cap is dropped, counted, and flagged") {
    Capture out, err;
    LogSink sink(opts(LogFormat::plain, out.fd.get(), err.fd.get(), 10));
    sink.write(StreamId::out, "0123456");
    sink.write(StreamId::out, "789abcdef");
    sink.write(StreamId::out, "more");
    sink.write(StreamId::err, "0123456789");  // exactly the cap: nothing lost
    sink.finish();
    CHECK(out.text() == "0123456789");
    CHECK(err.text() == "0123456789");
    CHECK(sink.stats().stdout_bytes == 20);
    CHECK(sink.stats().stderr_bytes == 10);
    CHECK(sink.stats().truncated);
  }

  TEST_CASE("the cap applies per stream and leaves the truncated line shown in prefixed") {
    Capture out;
    LogSink sink(opts(LogFormat::prefixed, out.fd.get(), -1, 8));
    sink.write(StreamId::out, "abc\ndefghijkl\n");
    // The cut line is shown at once: nothing more can come for it.
    REQUIRE(lines_of(out.text()).size() == 2);
    sink.write(StreamId::err, "1234567\n");
    CHECK(sink.stats().stderr_bytes == 8);
    sink.finish();
    auto lines = lines_of(out.text());
    REQUIRE(lines.size() == 3);
    CHECK(prefixed_text(lines[0]) == "abc");
    CHECK(prefixed_text(lines[1]) == "defg");
    CHECK(prefixed_text(lines[2]) == "1234567");
    CHECK(sink.stats().truncated);
    CHECK(sink.stats().stdout_bytes == 14);
  }

  TEST_CASE("the log file gets every line as JSON whatever the format, replacing an old file") {
    TempDir dir;
    auto file = dir.path / "run.jsonl";
    { std::ofstream(file) << "old contents that must go\n"; }
    ::umask(022);
    Capture out, err;
    {
      auto o = opts(LogFormat::plain, out.fd.get(), err.fd.get());
      o.log_file = file.string();
      LogSink sink(o);
      sink.write(StreamId::out, "first\nsec");
      sink.write(StreamId::err, "warn \x1b[1m\n");
      sink.write(StreamId::out, "ond\n");
      sink.finish();
      CHECK(sink.log_file_error().empty());
    }
    CHECK(out.text() == "first\nsecond\n");
    CHECK(err.text() == "warn \x1b[1m\n");
    auto lines = lines_of(read_file(file));
    REQUIRE(lines.size() == 3);
    auto a = nlohmann::json::parse(lines[0]), b = nlohmann::json::parse(lines[1]), c = nlohmann::json::parse(lines[2]);
    CHECK(a["text"] == "first");
    CHECK(b["stream"] == "stderr");
    CHECK(b["text"] == R"(warn \x1b[1m)");
    CHECK(c["text"] == "second");
    struct stat st {};
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0644);
  }

  TEST_CASE("a log file that cannot be created is an error naming it") {
    TempDir dir;
    auto file = dir.path / "missing" / "run.jsonl";
    try {
      LogSink::Options o;
      o.log_file = file.string();
      LogSink sink(o);
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::internal);
      CHECK(std::string(e.what()).find(file.string()) != std::string::npos);
    }
  }

  TEST_CASE("a closed reader never stops the run; bytes are still counted") {
    std::signal(SIGPIPE, SIG_IGN);  // as gatebox does
    Pipe p = make_pipe();
    p.read.reset();
    LogSink sink(opts(LogFormat::prefixed, p.write.get()));
    CHECK_NOTHROW(sink.write(StreamId::out, "line\n"));
    CHECK_NOTHROW(sink.write(StreamId::out, "another\n"));
    CHECK_NOTHROW(sink.finish());
    CHECK(sink.stats().stdout_bytes == 13);
  }

  TEST_CASE("parse_log_format accepts the three formats and names them when refusing") {
    CHECK(parse_log_format("plain") == LogFormat::plain);
    CHECK(parse_log_format("prefixed") == LogFormat::prefixed);
    CHECK(parse_log_format("json") == LogFormat::json);
    try {
      parse_log_format("jsonl");
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::usage);
      std::string msg = e.what();
      CHECK(msg.find("'jsonl'") != std::string::npos);
      CHECK(msg.find("plain, prefixed, json") != std::string::npos);
    }
  }

  TEST_CASE("make_printable rejects malformed UTF-8 forms byte by byte") {
    CHECK(make_printable("\xc0\xaf") == R"(\xc0\xaf)");            // overlong '/'
    CHECK(make_printable("\xed\xa0\x80") == R"(\xed\xa0\x80)");    // a UTF-16 surrogate
    CHECK(make_printable("\xf4\x90\x80\x80") == R"(\xf4\x90\x80\x80)");  // past U+10FFFF
    CHECK(make_printable("\xe2\x9c") == R"(\xe2\x9c)");            // cut short
    CHECK(make_printable("\x7f\x00!"sv) == R"(\x7f\x00!)");
    CHECK(make_printable("\xf0\x9f\x98\x80 \xc2\xa0") == "\xf0\x9f\x98\x80 \xc2\xa0");  // emoji, NBSP kept
  }

  TEST_CASE("whatever the gate prints, json lines parse and carry no raw control characters") {
    std::mt19937 rng(42);
    std::uniform_int_distribution<int> byte(0, 255), len(0, 300);
    for (int round = 0; round < 2000; ++round) {
      std::string junk;
      for (int i = len(rng); i > 0; --i) junk += static_cast<char>(byte(rng));
      std::string shown = make_printable(junk);
      CAPTURE(shown);
      nlohmann::json j = shown;
      REQUIRE_NOTHROW(nlohmann::json::parse(j.dump()));  // dump() throws on invalid UTF-8
      auto raw_controls = std::count_if(shown.begin(), shown.end(), [](unsigned char c) {
        return (c < 0x20 && c != '\t') || c == 0x7f;
      });
      REQUIRE(raw_controls == 0);
    }
  }

  TEST_CASE("the lines shown do not depend on how the output was chunked") {
    std::mt19937 rng(7);
    std::string text;
    std::uniform_int_distribution<int> pick(0, 9);
    for (int i = 0; i < 60000; ++i) {
      int k = pick(rng);
      text += k == 0 ? "\n" : k == 1 ? "\xc3\xa9" : k == 2 ? "\x1b[" : "abcdefg"s.substr(0, static_cast<std::size_t>(k));
    }
    auto render = [&](std::size_t max_chunk) {
      Capture out;
      LogSink sink(opts(LogFormat::prefixed, out.fd.get()));
      std::uniform_int_distribution<std::size_t> size(1, max_chunk);
      for (std::size_t at = 0; at < text.size();) {
        std::size_t n = std::min(size(rng), text.size() - at);
        sink.write(StreamId::out, std::string_view(text).substr(at, n));
        at += n;
      }
      sink.finish();
      std::string joined;
      for (const auto& l : lines_of(out.text())) joined += prefixed_text(l) + "\n";
      return joined;
    };
    std::string whole = render(text.size());
    CHECK(whole == render(3));
    CHECK(whole == render(70000));
    CHECK(whole.find("\\x1b[") != std::string::npos);
    CHECK(whole.find("\\xc3") == std::string::npos);
  }
}
