#include "stack/docker/mux_stream.hpp"

#include <fmt/format.h>

namespace gatebox {

void StreamDemux::feed(std::string_view bytes) {
  while (!bytes.empty() && error_.empty()) {
    if (remaining_ == 0) {
      const std::size_t take = std::min(bytes.size(), sizeof header_ - header_len_);
      std::copy_n(bytes.data(), take, header_ + header_len_);
      header_len_ += take;
      bytes.remove_prefix(take);
      if (header_len_ < sizeof header_) return;
      header_len_ = 0;
      current_ = header_[0];
      remaining_ = (std::uint32_t{header_[4]} << 24) | (std::uint32_t{header_[5]} << 16) |
                   (std::uint32_t{header_[6]} << 8) | std::uint32_t{header_[7]};
      // 0 stdin (echoed, only with a TTY), 1 stdout, 2 stderr, 3 the daemon's own errors.
      if (current_ > 3 || header_[1] != 0 || header_[2] != 0 || header_[3] != 0) {
        error_ = fmt::format("malformed attach stream: frame header {:02x} {:02x} {:02x} {:02x}", header_[0], header_[1],
                             header_[2], header_[3]);
        remaining_ = 0;
        return;
      }
      continue;
    }
    const std::size_t take = std::min<std::size_t>(bytes.size(), remaining_);
    const std::string_view piece = bytes.substr(0, take);
    if (current_ == 3) {
      if (daemon_error_.size() < 4096) daemon_error_.append(piece.substr(0, 4096 - daemon_error_.size()));
    } else {
      sink_(current_ == 2 ? StreamId::err : StreamId::out, piece);
    }
    remaining_ -= static_cast<std::uint32_t>(take);
    bytes.remove_prefix(take);
  }
}

}  // namespace gatebox
