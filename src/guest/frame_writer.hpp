#pragma once
// The agent's end of the console channel: numbers, authenticates and writes frames to the
// raw serial port. One write() per frame, so that a gate writing to the same tty (uid 0
// gates can open it) cannot interleave bytes inside a frame: the tty layer serialises
// whole write() calls.
#include <string_view>

#include "stack/vm/frame.hpp"

namespace gatebox::guest {

class FrameWriter {
 public:
  FrameWriter(int fd, const vm::Secret& secret) : fd_(fd), secret_(secret) {}

  // Sends `payload` as one frame, or several consecutive frames of the same type when it
  // is longer than a frame holds. An empty payload still makes one frame.
  void send(vm::FrameType type, std::string_view payload);
  // Waits until the UART has sent everything (before power-off, which would cut it short).
  void drain();

 private:
  int fd_;
  vm::Secret secret_;
  std::uint32_t seq_ = 0;
};

// Writes all of `bytes` to `fd`, retrying short writes and EINTR; errors are ignored (there
// is nowhere left to report them).
void write_all(int fd, std::string_view bytes);

}  // namespace gatebox::guest
