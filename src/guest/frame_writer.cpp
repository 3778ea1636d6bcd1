#include "guest/frame_writer.hpp"

#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace gatebox::guest {

void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void FrameWriter::send(vm::FrameType type, std::string_view payload) {
  do {
    const std::string_view chunk = payload.substr(0, std::min(payload.size(), vm::kMaxFramePayload));
    payload.remove_prefix(chunk.size());
    write_all(fd_, vm::encode_frame(secret_, type, seq_++, chunk));
  } while (!payload.empty());
}

void FrameWriter::drain() {
  ::tcdrain(fd_);
  ::fsync(fd_);
}

}  // namespace gatebox::guest
