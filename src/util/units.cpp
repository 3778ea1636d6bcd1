#include "util/units.hpp"

#include <charconv>
#include <fmt/format.h>

namespace gatebox {
namespace {

struct Unit {
  std::string_view name;
  std::uint64_t factor;
};

std::optional<std::uint64_t> parse_scaled(std::string_view text, std::initializer_list<Unit> units) {
  if (text.empty() || text.front() < '0' || text.front() > '9') return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc()) return std::nullopt;
  std::string_view suffix(end, text.data() + text.size() - end);
  for (const Unit& u : units) {
    if (suffix != u.name) continue;
    if (u.factor != 0 && value > UINT64_MAX / u.factor) return std::nullopt;
    return value * u.factor;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::uint64_t> parse_size(std::string_view text) {
  constexpr std::uint64_t K = 1024;
  return parse_scaled(text, {{"", 1}, {"B", 1}, {"K", K}, {"KiB", K}, {"M", K * K}, {"MiB", K * K},
                             {"G", K * K * K}, {"GiB", K * K * K}, {"T", K * K * K * K}, {"TiB", K * K * K * K}});
}

std::optional<Duration> parse_duration(std::string_view text) {
  auto ms = parse_scaled(text, {{"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}});
  if (!ms || *ms > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
  return Duration(static_cast<std::int64_t>(*ms));
}

std::string format_size(std::uint64_t bytes) {
  static constexpr std::string_view names[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  std::size_t i = 0;
  while (i + 1 < std::size(names) && bytes != 0 && bytes % 1024 == 0) {
    bytes /= 1024;
    ++i;
  }
  return i == 0 ? fmt::format("{}", bytes) : fmt::format("{}{}", bytes, names[i]);
}

std::string format_duration(Duration d) {
  auto ms = d.count();
  if (ms != 0 && ms % 3'600'000 == 0) return fmt::format("{}h", ms / 3'600'000);
  if (ms != 0 && ms % 60'000 == 0) return fmt::format("{}m", ms / 60'000);
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

}  // namespace gatebox
