#pragma once
// Where the gate's output goes (docs/ARCHITECTURE.md §3.4): streamed live in one of three
// formats, capped per stream without ever blocking the gate, optionally copied as JSON
// lines to a file.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

namespace gatebox {

enum class LogFormat { plain, prefixed, json };
enum class StreamId { out, err };

struct OutputStats {
  std::uint64_t stdout_bytes = 0;  // bytes the gate wrote (including dropped ones)
  std::uint64_t stderr_bytes = 0;
  bool truncated = false;          // a stream went over limits.output
};

class LogSink {
 public:
  struct Options {
    LogFormat format = LogFormat::plain;
    std::uint64_t cap_per_stream = 16ULL << 20;
    std::string log_file;  // empty = none
    int stdout_fd = 1;     // where the formatted output goes
    int stderr_fd = 2;
    // plain only: the fd is a terminal, so the gate's bytes are shown neutralised, each
    // line after "out| " or "err| " (TerminalText). Elsewhere they pass unchanged.
    bool stdout_terminal = false;
    bool stderr_terminal = false;
  };
  explicit LogSink(Options options);
  ~LogSink();
  LogSink(const LogSink&) = delete;
  LogSink& operator=(const LogSink&) = delete;

  // A chunk as it arrived from the sandbox. Written out before this returns.
  void write(StreamId stream, std::string_view bytes);
  // End of the run: flush partial lines and note any truncation.
  void finish();
  const OutputStats& stats() const;
  // Empty unless writing the log file failed (disk full, ...); then what failed, once.
  // Output to the terminal that fails (EPIPE, closed fd) is dropped silently.
  const std::string& log_file_error() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

LogFormat parse_log_format(std::string_view text);  // throws Error(64)

// Bytes from the sandbox made safe for a terminal and valid UTF-8: control characters
// other than TAB (ESC, CR, BEL, DEL, and C1 controls U+0080..U+009F) and bytes that are not
// UTF-8 are shown as `\xNN` (lower-case hex, one per byte). Everything else is unchanged.
std::string make_printable(std::string_view bytes);

// write(2) until everything is written, retrying on EINTR and waiting on EAGAIN.
// false on any other error (EPIPE, EBADF, ENOSPC, ...), with errno set.
bool write_fully(int fd, std::string_view data) noexcept;

}  // namespace gatebox
