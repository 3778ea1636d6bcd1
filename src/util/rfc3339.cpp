#include "util/rfc3339.hpp"

#include <cstdio>
#include <ctime>
#include <string>

namespace gatebox {

std::optional<double> parse_rfc3339_ms(std::string_view text) {
  std::tm tm{};
  int consumed = 0;
  const std::string s(text);
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return std::nullopt;
  }
  if (tm.tm_year < 1970) return std::nullopt;  // Go's zero time: never started or never finished
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  double frac = 0;
  std::size_t i = static_cast<std::size_t>(consumed);
  if (i < s.size() && s[i] == '.') {
    double scale = 0.1;
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, scale /= 10) frac += (s[i] - '0') * scale;
  }
  long offset_s = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int hh = 0, mm = 0;
    if (std::sscanf(s.c_str() + i + 1, "%2d:%2d", &hh, &mm) != 2) return std::nullopt;
    offset_s = (s[i] == '+' ? 1 : -1) * (hh * 3600L + mm * 60L);
  } else if (i >= s.size() || s[i] != 'Z') {
    return std::nullopt;
  }
  const time_t t = ::timegm(&tm);
  if (t == static_cast<time_t>(-1)) return std::nullopt;
  return (static_cast<double>(t - offset_s) + frac) * 1000.0;
}

}  // namespace gatebox
