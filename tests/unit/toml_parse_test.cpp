#include <doctest/doctest.h>

#include <string>

#include "profile/toml_parse.hpp"

using gatebox::parse_toml;

namespace {

// The description of the parse error, or "" when the text parses.
std::string error_of(const std::string& text) {
  try {
    parse_toml(text, "p.toml");
  } catch (const toml::parse_error& e) {
    return std::string(e.description()) + " @" + std::to_string(e.source().begin.line) + ":" +
           std::to_string(e.source().begin.column);
  }
  return "";
}

}  // namespace

TEST_SUITE("toml_parse") {
  TEST_CASE("non-ASCII text in strings and comments is left to toml++") {
    CHECK(error_of("x = \"\xca\x80\"\n") == "");
    CHECK(error_of("x = '\xca\x80'\n") == "");
    CHECK(error_of("# \xca\x80\nx = 1\n") == "");
    CHECK(error_of("x = \"\"\"a\n\xca\x80\n\"\"\"\n") == "");
    CHECK(error_of("x = '''a\xca\x80'''\n") == "");
    CHECK(error_of("\xEF\xBB\xBFx = 1\n") == "");
    CHECK(error_of("x = \"\\\"\xca\x80\"\n") == "");               // after an escaped quote
    CHECK(error_of("x = \"\"\"a\"\"\"\"\ny = '\xca\x80'\n") == "");  // """ closed by a run of 4 quotes
    CHECK(error_of("x = \"\"\"a\\\n  \"\"\"\ny = '\xca\x80'\n") == "");  // line-ending backslash, then the end
    // Where keys and values start: after '=', '[', '{', ',', '.' and at a line's start.
    CHECK(error_of("\"k\xca\x80\" = [\"a\", '\xca\x80']\nt = { a = \"\xca\x80\", b.\"\xca\x80\" = 1 }\n") == "");
    CHECK(error_of("[\"t\xca\x80\"]\nx = [\n  \"\xca\x80\",\n]\n") == "");
    CHECK(error_of("a=\"\xca\x80\"\n[[t]]\nb.\"\xca\x80\".c = [1, {d=\"\xca\x80\"}, [\"\xca\x80\"]]\n") == "");
    CHECK(error_of("d = 1979-05-27 07:32:00Z # \xca\x80\ns = \"\xca\x80\"\n") == "");
  }

  TEST_CASE("non-ASCII text anywhere else is refused with its position, before toml++ sees it") {
    // `x = [1,ʀ]` reached __builtin_unreachable() inside toml++ 3.3 (found by the fuzzer).
    CHECK(error_of("x = [1,\xca\x80]\n").find("U+0280 outside a string or comment") != std::string::npos);
    CHECK(error_of("a = 1\nrg\xca\x80 = 2\n").find("@2:3") != std::string::npos);
    CHECK(error_of("x = \"\xc3\xa9\" \xca\x80\n").find("@1:9") != std::string::npos);  // columns count characters
    CHECK(error_of("x = \"\"\"a\"\"\"\"\xca\x80\n").find("U+0280") != std::string::npos);
    // In a multi-line basic string toml++ classifies what follows a backslash.
    CHECK(error_of("x = \"\"\"a\\ \xca\x80\"\"\"\n").find("U+0280") != std::string::npos);
    CHECK(error_of("x = \"\"\"a\\\xca\x80\"\"\"\n").find("U+0280") != std::string::npos);
    CHECK(error_of("x = 1 \xff\n").find("U+FFFD") != std::string::npos);
    // A quote inside a bare value does not open a string: toml++ classifies what follows
    // (found by the fuzzer: `x =0"hosti\u0494`).
    CHECK(error_of("x =0\"hosti\xd2\x94\n").find("U+0494") != std::string::npos);
    CHECK(error_of("x = tru'e\xca\x80'\n").find("U+0280") != std::string::npos);
    CHECK(error_of("j=0.\"\x17ooooo\xc8\x9doo\"\n").find("U+021D") != std::string::npos);  // fuzzer, seed 13
    CHECK(error_of("x = 0[\"\xca\x80\"]\n").find("U+0280") != std::string::npos);
    CHECK(error_of("x = 0=\"\xca\x80\"\n").find("U+0280") != std::string::npos);
    CHECK(error_of("x = 0{\"\xca\x80\"\n").find("U+0280") != std::string::npos);
  }
}
