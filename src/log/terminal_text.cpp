// TerminalText: the plain format's view of the gate's output on a terminal.
#include "log/terminal_text.hpp"

#include "log/sink.hpp"

namespace gatebox {

std::size_t incomplete_utf8_tail(std::string_view s) {
  for (std::size_t back = 1; back <= 3 && back <= s.size(); ++back) {
    auto b = static_cast<unsigned char>(s[s.size() - back]);
    if ((b & 0xc0) == 0x80) continue;  // continuation byte: look further back
    std::size_t need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

void TerminalText::feed(std::string_view bytes, std::string& out) {
  while (!bytes.empty()) {
    // The marker goes out with the line's first byte, not with the previous newline: the
    // gate's last line ending is then not followed by a dangling marker.
    if (line_start_) {
      out += marker_;
      line_start_ = false;
    }
    auto newline = bytes.find('\n');
    std::string_view piece = newline == std::string_view::npos ? bytes : bytes.substr(0, newline);
    held_.append(piece);
    if (newline == std::string_view::npos) {
      std::size_t keep = incomplete_utf8_tail(held_);
      out += make_printable(std::string_view(held_).substr(0, held_.size() - keep));
      held_.erase(0, held_.size() - keep);
      return;
    }
    out += make_printable(held_);
    out += '\n';
    held_.clear();
    line_start_ = true;
    bytes.remove_prefix(newline + 1);
  }
}

void TerminalText::finish(std::string& out) {
  out += make_printable(held_);
  held_.clear();
  if (!line_start_) out += '\n';
  line_start_ = true;
}

}  // namespace gatebox
