#include "util/command_line.hpp"

#include <charconv>
#include <cstring>
#include <optional>
#include <string>

#include "util/fs.hpp"

namespace gatebox {

MemoryRange command_line_area_from_stat(std::string_view stat) {
  auto paren = stat.rfind(')');
  if (paren == std::string_view::npos) return {};
  std::string_view rest = stat.substr(paren + 1);
  // After the name comes field 3 (state); arg_start is field 48, arg_end field 49.
  int field = 2;
  std::uintptr_t values[2] = {0, 0};
  std::size_t at = 0;
  while (field < 49) {
    while (at < rest.size() && (rest[at] == ' ' || rest[at] == '\n')) ++at;
    if (at >= rest.size()) return {};
    std::size_t end = rest.find_first_of(" \n", at);
    if (end == std::string_view::npos) end = rest.size();
    ++field;
    if (field >= 48) {
      auto [ptr, ec] = std::from_chars(rest.data() + at, rest.data() + end, values[field - 48]);
      if (ec != std::errc() || ptr != rest.data() + end) return {};
    }
    at = end;
  }
  return MemoryRange{values[0], values[1]};
}

MemoryRange own_command_line_area() {
  std::optional<std::string> stat = read_file("/proc/self/stat");
  return stat ? command_line_area_from_stat(*stat) : MemoryRange{};
}

void overwrite_command_line(MemoryRange area, std::string_view name) noexcept {
  if (area.empty()) return;
  auto* bytes = reinterpret_cast<char*>(area.start);
  const std::size_t size = area.end - area.start;
  // The last byte stays NUL: a non-NUL one there would make the kernel read on into the
  // environment (its setproctitle convention).
  const std::size_t n = name.size() < size ? name.size() : size - 1;
  std::memcpy(bytes, name.data(), n);
  std::memset(bytes + n, 0, size - n);
}

}  // namespace gatebox
