#include "profile/toml_parse.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gatebox {
namespace {

// Where the first non-ASCII byte outside a string or comment is, as toml++ would read the
// text: comments run to the end of the line; a quote where a key or value starts opens a
// string (inside a bare value, as in `x = 0."...`, it is part of it); "..." and '...' end at their quote or at the
// line's end (an error toml++ reports itself); """...""" and '''...''' end at the last of a
// run of 3 to 5 quotes. In a """ string, a backslash followed by whitespace makes toml++
// classify the next character too, so a non-ASCII one there is refused as well.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  std::optional<std::size_t> first_unsafe() {
    // A UTF-8 byte order mark is allowed at the very start; toml++ skips it.
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (static_cast<unsigned char>(c) >= 0x80) return pos_;
      if (c == '#') {
        bare_ = false;
        skip_to_line_end();
        continue;
      }
      // A bare value (a number, a date, a boolean) runs to a blank, ',', ']', '}' or '#':
      // toml++ reads quotes, '.', '[', '{' and '=' in it as part of it, and classifies every
      // character on the way.
      if (bare_ && bare_is_value_ && std::string_view(" \t\r\n,]}").find(c) == std::string_view::npos) {
        ++pos_;
        continue;
      }
      if ((c == '"' || c == '\'') && !bare_) {
        if (text_.substr(pos_, 3) == std::string(3, c)) {
          pos_ += 3;
          if (auto bad = multi_line(c)) return bad;
        } else {
          ++pos_;
          single_line(c);
        }
        continue;
      }
      structure(c);
      ++pos_;
    }
    return std::nullopt;
  }

 private:
  // Where keys and where values start, so that a quote opens a string exactly where toml++
  // would open one: table headers, arrays and inline tables nest ('h', 'a', 't').
  void structure(char c) {
    const bool blank = c == ' ' || c == '\t' || c == '\r' || c == '\n';
    if (blank || std::string_view("=[]{},.").find(c) != std::string_view::npos) {
      bare_ = false;
    } else if (!bare_) {
      bare_ = true;  // a bare key, or a bare value
      bare_is_value_ = value_side_;
      return;
    }
    const char top = nesting_.empty() ? '\0' : nesting_.back();
    switch (c) {
      case '\n':
        if (nesting_.empty()) value_side_ = false;  // a key starts the next line
        break;
      case '=': value_side_ = true; break;
      case '[': nesting_.push_back(value_side_ ? 'a' : 'h'); break;
      case '{':
        nesting_.push_back('t');
        value_side_ = false;
        break;
      case ']':
      case '}':
        if (!nesting_.empty()) nesting_.pop_back();
        value_side_ = top != 'h';
        break;
      case ',': value_side_ = top != 't'; break;
      default: break;
    }
  }

  void skip_to_line_end() {
    const std::size_t nl = text_.find('\n', pos_);
    pos_ = nl == std::string_view::npos ? text_.size() : nl;
  }

  void single_line(char quote) {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '\n') return;  // unterminated: toml++ stops here with its own error
      ++pos_;
      if (c == quote) return;
      if (c == '\\' && quote == '"' && pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
    }
  }

  std::optional<std::size_t> multi_line(char quote) {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == quote) {
        std::size_t run = 0;
        while (pos_ + run < text_.size() && text_[pos_ + run] == quote) ++run;
        pos_ += run;
        if (run >= 3) return std::nullopt;
        continue;
      }
      ++pos_;
      if (c == '\\' && quote == '"') {
        const std::size_t escaped = pos_;
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\r' ||
                                       text_[pos_] == '\n')) {
          ++pos_;
        }
        if (pos_ < text_.size() && static_cast<unsigned char>(text_[pos_]) >= 0x80) return pos_;
        // The escaped character itself (e.g. \" or \\); after a line-ending backslash the
        // next character is content again (it may start the closing quotes).
        if (pos_ == escaped && pos_ < text_.size()) ++pos_;
      }
    }
    return std::nullopt;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  bool bare_ = false;           // inside a bare key or value
  bool bare_is_value_ = false;  // ... and it is a value
  bool value_side_ = false;     // a value, not a key, starts here
  std::vector<char> nesting_;   // 'h' table header, 'a' array, 't' inline table
};

// The code point at `at` (U+FFFD when the bytes are not valid UTF-8).
std::uint32_t code_point_at(std::string_view text, std::size_t at) {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = b(at);
  std::size_t n = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0;
  if (n == 0 || at + n >= text.size()) return 0xFFFD;
  std::uint32_t cp = lead & (0x3F >> n);
  for (std::size_t i = 1; i <= n; ++i) {
    if ((b(at + i) & 0xC0) != 0x80) return 0xFFFD;
    cp = (cp << 6) | (b(at + i) & 0x3F);
  }
  return cp;
}

}  // namespace

toml::table parse_toml(std::string_view text, std::string_view source) {
  if (const std::optional<std::size_t> bad = Scanner(text).first_unsafe()) {
    toml::source_position at{1, 1};
    for (std::size_t i = 0; i < *bad; ++i) {
      if (text[i] == '\n') {
        ++at.line;
        at.column = 1;
      } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
        ++at.column;  // columns count characters, as toml++'s do
      }
    }
    const std::string what = fmt::format(
        "non-ASCII character U+{:04X} outside a string or comment; TOML allows such characters only in "
        "quoted strings and comments (e.g. name = \"caf\u00e9\")",
        code_point_at(text, *bad));
    throw toml::parse_error(what.c_str(), at, std::make_shared<const std::string>(source));
  }
  return toml::parse(text, source);
}

}  // namespace gatebox
