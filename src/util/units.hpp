#pragma once
// Sizes and durations as users write them (docs/ARCHITECTURE.md §3.1): "512MiB", "2G",
// "250ms", "5m".
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gatebox {

using Duration = std::chrono::milliseconds;

// nullopt when the text is not a size; the caller words the error (it knows the key).
std::optional<std::uint64_t> parse_size(std::string_view text);
std::optional<Duration> parse_duration(std::string_view text);

// Canonical spellings, used by `validate --print` and messages: 1073741824 -> "1GiB".
std::string format_size(std::uint64_t bytes);
std::string format_duration(Duration d);

inline constexpr std::string_view size_example = "\"512MiB\" (units: B, KiB, MiB, GiB, TiB; K/M/G/T mean the same)";
inline constexpr std::string_view duration_example = "\"30s\" (units: ms, s, m, h; a bare integer means seconds)";

}  // namespace gatebox
