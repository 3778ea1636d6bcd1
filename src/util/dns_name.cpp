#include "util/dns_name.hpp"

#include <algorithm>

namespace gatebox {

bool is_dns_label(std::string_view s) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  return !s.empty() && s.size() <= 63 && alnum(s.front()) && alnum(s.back()) &&
         std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || c == '-'; });
}

bool is_dns_subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (std::size_t i = 0; i <= s.size();) {
    const std::size_t dot = std::min(s.find('.', i), s.size());
    if (!is_dns_label(s.substr(i, dot - i))) return false;
    i = dot + 1;
  }
  return true;
}

}  // namespace gatebox
