// LogSink: the gate's output, streamed as it arrives (docs/ARCHITECTURE.md §3.4).
//
// Each write() call does at most one write(2) per destination, so a gate printing many
// short lines costs few system calls. A destination that fails (EPIPE, closed fd) is
// given up on quietly; bytes are still counted, and the gate is never stopped for it.
#include "log/sink.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "log/terminal_text.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"

namespace gatebox {
namespace {

using Clock = std::chrono::system_clock;

// Longest line shown as one; a longer one (or a partial line that grows past it) is
// shown in pieces, so a gate that never prints a newline cannot make us hold its output.
constexpr std::size_t max_line = 64 * 1024;

std::string_view stream_word(StreamId s) { return s == StreamId::out ? "stdout" : "stderr"; }

// Formats times, reusing the calendar conversion within one second: localtime_r and
// gmtime_r are not free, and a chatty gate prints thousands of lines a second.
class TimeFormatter {
 public:
  // "12:00:00.123", local time.
  std::string local(Clock::time_point t) {
    auto [sec, ms] = split(t);
    if (sec != local_sec_) {
      tm parts{};
      localtime_r(&sec, &parts);
      local_prefix_ = fmt::format("{:02}:{:02}:{:02}", parts.tm_hour, parts.tm_min, parts.tm_sec);
      local_sec_ = sec;
    }
    return fmt::format("{}.{:03}", local_prefix_, ms);
  }
  // "2026-11-29T12:00:00.123Z", UTC.
  std::string utc(Clock::time_point t) {
    auto [sec, ms] = split(t);
    if (sec != utc_sec_) {
      tm parts{};
      gmtime_r(&sec, &parts);
      utc_prefix_ = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", parts.tm_year + 1900, parts.tm_mon + 1,
                                parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec);
      utc_sec_ = sec;
    }
    return fmt::format("{}.{:03}Z", utc_prefix_, ms);
  }

 private:
  static std::pair<time_t, int> split(Clock::time_point t) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    auto sec = ms / 1000, rem = ms % 1000;
    if (rem < 0) {  // before 1970: keep the millisecond part positive
      sec -= 1;
      rem += 1000;
    }
    return {static_cast<time_t>(sec), static_cast<int>(rem)};
  }
  time_t local_sec_ = -1, utc_sec_ = -1;
  std::string local_prefix_, utc_prefix_;
};

// One output destination; stops writing after the first failure.
struct Destination {
  int fd = -1;
  bool failed = false;
  std::string pending;  // what this write() call will send

  void flush() {
    if (pending.empty()) return;
    if (fd >= 0 && !failed && !write_fully(fd, pending)) failed = true;
    pending.clear();
  }
};

}  // namespace

struct LogSink::Impl {
  struct Stream {
    std::uint64_t accepted = 0;  // bytes within the cap
    std::string line;            // the line being assembled
    Clock::time_point line_start;
  };

  Options options;
  OutputStats stats;
  std::array<Stream, 2> streams;
  Destination out, err, log;
  Fd log_fd;
  std::string log_error;
  TimeFormatter times;
  bool assemble_lines = false;
  // plain on a terminal: the gate's bytes neutralised and marked, per stream (empty = raw).
  std::optional<TerminalText> out_terminal, err_terminal;

  void emit_line(StreamId id, Clock::time_point t, std::string_view text) {
    std::string shown = make_printable(text);
    if (options.format == LogFormat::prefixed) {
      out.pending += times.local(t);
      out.pending += id == StreamId::out ? " out| " : " err| ";
      out.pending += shown;
      out.pending += '\n';
    }
    if (options.format == LogFormat::json || log_fd) {
      // `shown` is valid UTF-8, so dump() cannot throw here.
      std::string json_line = fmt::format(R"({{"t": "{}", "stream": "{}", "text": {}}})", times.utc(t),
                                          stream_word(id), nlohmann::json(shown).dump());
      json_line += '\n';
      if (options.format == LogFormat::json) out.pending += json_line;
      if (log_fd) log.pending += json_line;
    }
  }

  void assemble(StreamId id, std::string_view data, Clock::time_point now) {
    Stream& s = streams[static_cast<int>(id)];
    while (!data.empty()) {
      if (s.line.empty()) s.line_start = now;
      auto newline = data.find('\n');
      std::string_view piece = newline == std::string_view::npos ? data : data.substr(0, newline);
      std::size_t room = max_line - s.line.size();
      if (piece.size() > room) {
        s.line.append(piece.substr(0, room));
        data.remove_prefix(room);
        std::size_t keep = incomplete_utf8_tail(s.line);
        std::string carry = s.line.substr(s.line.size() - keep);
        s.line.resize(s.line.size() - keep);
        emit_line(id, s.line_start, s.line);
        s.line = std::move(carry);
        s.line_start = now;
        continue;
      }
      s.line.append(piece);
      if (newline == std::string_view::npos) break;
      emit_line(id, s.line_start, s.line);
      s.line.clear();
      data.remove_prefix(newline + 1);
    }
  }

  void flush_all() {
    out.flush();
    err.flush();
    bool log_was_ok = !log.failed;
    log.flush();
    if (log_was_ok && log.failed) {
      log_error = fmt::format("writing the log file {} failed: {}; the rest of the output is not in it",
                              options.log_file, std::strerror(errno));
    }
  }
};

LogSink::LogSink(Options options) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.options = std::move(options);
  m.out.fd = m.options.stdout_fd;
  m.err.fd = m.options.stderr_fd;
  if (!m.options.log_file.empty()) {
    int fd = ::open(m.options.log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
    if (fd < 0) {
      throw make_error(ExitCode::internal, "cannot create the log file {}: {}", m.options.log_file,
                       std::strerror(errno));
    }
    m.log_fd.reset(fd);
    m.log.fd = fd;
  }
  m.assemble_lines = m.options.format != LogFormat::plain || m.log_fd.valid();
  // Decided per stream: stdout may go to a file while stderr is the user's terminal.
  if (m.options.format == LogFormat::plain) {
    if (m.options.stdout_terminal) m.out_terminal.emplace("out| ");
    if (m.options.stderr_terminal) m.err_terminal.emplace("err| ");
  }
}

LogSink::~LogSink() { finish(); }

void LogSink::write(StreamId stream, std::string_view bytes) {
  Impl& m = *impl_;
  auto& s = m.streams[static_cast<int>(stream)];
  (stream == StreamId::out ? m.stats.stdout_bytes : m.stats.stderr_bytes) += bytes.size();

  std::uint64_t room = m.options.cap_per_stream > s.accepted ? m.options.cap_per_stream - s.accepted : 0;
  if (bytes.size() > room) {
    bytes = bytes.substr(0, static_cast<std::size_t>(room));
    m.stats.truncated = true;
  }
  if (bytes.empty()) return;
  s.accepted += bytes.size();

  if (m.options.format == LogFormat::plain) {
    std::optional<TerminalText>& terminal = stream == StreamId::out ? m.out_terminal : m.err_terminal;
    std::string& pending = (stream == StreamId::out ? m.out : m.err).pending;
    if (terminal) {
      // Both streams on terminals (most likely one): the other's unfinished line is ended
      // first, or this stream's line would carry on after it unmarked at column 0.
      std::optional<TerminalText>& other = stream == StreamId::out ? m.err_terminal : m.out_terminal;
      if (other) other->finish((stream == StreamId::out ? m.err : m.out).pending);
      terminal->feed(bytes, pending);
    } else {
      pending.append(bytes);
    }
  }
  if (m.assemble_lines) {
    m.assemble(stream, bytes, Clock::now());
    // At the cap nothing more will come for the held partial line: show it now.
    if (s.accepted == m.options.cap_per_stream && !s.line.empty()) {
      m.emit_line(stream, s.line_start, s.line);
      s.line.clear();
    }
  }
  m.flush_all();
}

void LogSink::finish() {
  Impl& m = *impl_;
  if (m.out_terminal) m.out_terminal->finish(m.out.pending);
  if (m.err_terminal) m.err_terminal->finish(m.err.pending);
  if (!m.assemble_lines) {
    m.flush_all();
    return;
  }
  // Partial lines in the order they began, so the last words of both streams read naturally.
  auto& o = m.streams[0];
  auto& e = m.streams[1];
  bool err_first = !e.line.empty() && (o.line.empty() || e.line_start < o.line_start);
  for (StreamId id : err_first ? std::array{StreamId::err, StreamId::out} : std::array{StreamId::out, StreamId::err}) {
    auto& s = m.streams[static_cast<int>(id)];
    if (s.line.empty()) continue;
    m.emit_line(id, s.line_start, s.line);
    s.line.clear();
  }
  m.flush_all();
}

const OutputStats& LogSink::stats() const { return impl_->stats; }

const std::string& LogSink::log_file_error() const { return impl_->log_error; }

LogFormat parse_log_format(std::string_view text) {
  if (text == "plain") return LogFormat::plain;
  if (text == "prefixed") return LogFormat::prefixed;
  if (text == "json") return LogFormat::json;
  throw make_error(ExitCode::usage, "--log-format: unknown format '{}'; accepted: plain, prefixed, json",
                   make_printable(text));
}

}  // namespace gatebox
