#pragma once
// Docker's multiplexed attach stream (a container without a TTY): frames of an 8-byte header
// [stream, 0, 0, 0, size as big-endian 32 bits] followed by `size` bytes of payload.
// Decoded incrementally: payload is passed on as it arrives, whatever the read boundaries,
// so a frame of any size costs no memory and output is never held back.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "log/sink.hpp"

namespace gatebox {

class StreamDemux {
 public:
  using Sink = std::function<void(StreamId, std::string_view)>;
  explicit StreamDemux(Sink sink) : sink_(std::move(sink)) {}

  // Bytes as read from the connection. After a malformed header everything is dropped and
  // error() says why: a broken framing cannot be resynchronised safely.
  void feed(std::string_view bytes);
  // True when the stream ended cleanly between frames (call at end of stream).
  bool at_frame_boundary() const { return header_len_ == 0 && remaining_ == 0; }
  const std::string& error() const { return error_; }
  // What the daemon itself wrote on its error stream (stream id 3), if anything.
  const std::string& daemon_error() const { return daemon_error_; }

 private:
  Sink sink_;
  unsigned char header_[8] = {};
  std::size_t header_len_ = 0;
  std::uint32_t remaining_ = 0;
  int current_ = 1;
  std::string error_;
  std::string daemon_error_;
};

}  // namespace gatebox
