#pragma once
// Text a daemon, an API server, a registry or a helper program sent, quoted in one of
// gatebox's one-line messages.
#include <cstddef>
#include <string>
#include <string_view>

namespace gatebox {

// `text` without surrounding whitespace and newlines, each control byte (< 0x20, DEL) a
// space, cut to `max` bytes with "…" when longer. (Console still escapes what is left.)
std::string one_line(std::string_view text, std::size_t max);

}  // namespace gatebox
