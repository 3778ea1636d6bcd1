// Making the gate's bytes safe to show: a gate must not be able to move the cursor, set the
// terminal title (OSC), erase lines or break a JSON line, whatever it prints.
#include <cerrno>
#include <cstdint>

#include <poll.h>
#include <unistd.h>

#include "log/sink.hpp"

namespace gatebox {
namespace {

void append_hex(std::string& out, unsigned char byte) {
  static constexpr char digits[] = "0123456789abcdef";
  out += "\\x";
  out += digits[byte >> 4];
  out += digits[byte & 0xf];
}

// Length of the well-formed UTF-8 sequence at the start of `s` (2..4), or 0 when the first
// byte does not start one. Rejects overlong forms, surrogates and code points past U+10FFFF,
// so that what we pass through is exactly what a strict JSON parser accepts.
std::size_t utf8_sequence_length(std::string_view s) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char b0 = byte(0);
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // the allowed range of the second byte
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    n = 2;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    n = 3;
    if (b0 == 0xe0) lo = 0xa0;  // overlong
    if (b0 == 0xed) hi = 0x9f;  // UTF-16 surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    n = 4;
    if (b0 == 0xf0) lo = 0x90;  // overlong
    if (b0 == 0xf4) hi = 0x8f;  // beyond U+10FFFF
  } else {
    return 0;
  }
  if (s.size() < n) return 0;
  if (byte(1) < lo || byte(1) > hi) return 0;
  for (std::size_t i = 2; i < n; ++i) {
    if ((byte(i) & 0xc0) != 0x80) return 0;
  }
  return n;
}

}  // namespace

std::string make_printable(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  std::size_t i = 0;
  while (i < bytes.size()) {
    auto b = static_cast<unsigned char>(bytes[i]);
    if (b < 0x80) {
      if ((b < 0x20 && b != '\t') || b == 0x7f) {
        append_hex(out, b);
      } else {
        out += static_cast<char>(b);
      }
      ++i;
      continue;
    }
    std::size_t n = utf8_sequence_length(bytes.substr(i));
    if (n == 0) {
      append_hex(out, b);
      ++i;
      continue;
    }
    // C1 controls encoded as UTF-8 (U+0080..U+009F, i.e. C2 80..C2 9F): some terminals
    // honour U+009B as CSI, so they are shown like the single-byte controls.
    if (b == 0xc2 && static_cast<unsigned char>(bytes[i + 1]) <= 0x9f) {
      append_hex(out, b);
      append_hex(out, static_cast<unsigned char>(bytes[i + 1]));
    } else {
      out.append(bytes.substr(i, n));
    }
    i += n;
  }
  return out;
}

bool write_fully(int fd, std::string_view data) noexcept {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // An inherited O_NONBLOCK descriptor: wait until it drains rather than lose output.
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, -1) < 0 && errno != EINTR) return false;
      continue;
    }
    if (n == 0) errno = EIO;
    return false;
  }
  return true;
}

}  // namespace gatebox
