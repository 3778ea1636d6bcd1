#pragma once
// The one way gatebox parses TOML text (profiles, --set values, the site policy).
//
// toml++ 3.3 (Debian 12) classifies any non-ASCII character it meets outside a string or a
// comment with a function that reaches __builtin_unreachable() for U+00A1..U+0499: undefined
// behaviour on input as small as `x = [1,ʀ]` (found by tests/fuzz/profile_fuzz). TOML allows
// non-ASCII text only inside quoted strings and comments anyway, so such a character is
// refused here, with its position, before toml++ sees the text.
#include <string_view>

#include <toml++/toml.h>

namespace gatebox {

// toml::parse(text, source), after the check above. Throws toml::parse_error either way, so
// callers report both alike (file:line:col: description).
toml::table parse_toml(std::string_view text, std::string_view source);

}  // namespace gatebox
