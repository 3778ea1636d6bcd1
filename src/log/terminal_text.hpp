#pragma once
// The gate's output on its way to a terminal (plain format, docs/ARCHITECTURE.md §3.4):
// control characters shown as text and every line marked as the gate's, so that whatever
// the gate prints, the terminal neither obeys it nor shows a line gatebox could have
// written.
#include <string>
#include <string_view>

namespace gatebox {

// Bytes at the end of `s` that start a UTF-8 sequence not yet complete (0..3). Kept for the
// next chunk, a character cut in two by a write boundary is not shown as escaped bytes.
std::size_t incomplete_utf8_tail(std::string_view s);

// One stream of the gate's output, as it arrives in chunks. Each line is shown after
// `marker` ("err| "), through make_printable: ESC, CR, BEL, DEL, the C1 controls and
// bytes that are not UTF-8 become `\xNN` text, so a CSI, OSC or DCS sequence is shown
// whole as text and never acted on, however the chunks split it. Only \n and \t pass.
class TerminalText {
 public:
  explicit TerminalText(std::string_view marker) : marker_(marker) {}

  // Appends to `out` what the terminal may be sent of the next chunk.
  void feed(std::string_view bytes, std::string& out);
  // End of the stream: shows what was held back and ends an unterminated line, so that
  // the next thing on the terminal (gatebox's verdict) starts a line of its own.
  void finish(std::string& out);

 private:
  std::string marker_;
  std::string held_;  // an incomplete UTF-8 sequence that ended the last chunk
  bool line_start_ = true;
};

}  // namespace gatebox
