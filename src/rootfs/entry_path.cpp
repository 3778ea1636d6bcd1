// Archive entry names: the rules that keep every entry below the destination.
#include <climits>

#include "rootfs/tree_writer.hpp"

namespace gatebox {

std::string quote_name(std::string_view raw) {
  // An error is one line: a hostile name of 20,000 characters is shown by its two ends.
  constexpr std::size_t keep = 80;
  if (raw.size() > 2 * keep + 16) {
    return fmt::format("{}…{} ({} bytes)", quote_name(raw.substr(0, keep)).substr(0, keep + 1),
                       quote_name(raw.substr(raw.size() - keep)).substr(1), raw.size());
  }
  std::string out = "'";
  for (char c : raw) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  return out + "'";
}

Error entry_error(std::string_view label, std::string_view raw, std::string_view reason) {
  return make_error(ExitCode::bad_input, "{}: entry {}: {}", label, quote_name(raw), reason);
}

EntryPath parse_entry_path(std::string_view label, std::string_view raw) {
  if (raw.empty()) throw entry_error(label, raw, "empty names are not allowed in archive paths");
  for (char c : raw) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) throw entry_error(label, raw, "control characters are not allowed in archive paths");
  }
  if (raw.front() == '/') {
    throw entry_error(label, raw, "absolute paths are not allowed in archive paths");
  }
  if (raw.size() >= PATH_MAX) {
    throw entry_error(label, raw, fmt::format("paths longer than {} bytes are not allowed", PATH_MAX - 1));
  }
  EntryPath p;
  p.raw = raw;
  std::size_t pos = 0;
  while (pos <= raw.size()) {
    std::size_t slash = raw.find('/', pos);
    if (slash == std::string_view::npos) slash = raw.size();
    std::string_view part = raw.substr(pos, slash - pos);
    pos = slash + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") throw entry_error(label, raw, "'..' is not allowed in archive paths");
    if (part.size() > NAME_MAX) {
      throw entry_error(label, raw, fmt::format("path components longer than {} bytes are not allowed", NAME_MAX));
    }
    if (!p.text.empty()) p.text += '/';
    p.text += part;
    p.parts.emplace_back(part);
  }
  return p;
}

}  // namespace gatebox
