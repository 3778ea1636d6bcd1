#include <doctest/doctest.h>

#include <string>

#include "util/text.hpp"

using namespace gatebox;

TEST_SUITE("util::text") {
  TEST_CASE("one line: trimmed, control bytes as spaces, cut with an ellipsis") {
    CHECK(one_line("  \n message\r\n", 50) == "message");
    CHECK(one_line("a\nb\tc\x1b[2J\x7f" "d", 50) == "a b c [2J d");
    CHECK(one_line("", 10).empty());
    CHECK(one_line("abcdef", 3) == "abc…");
    CHECK(one_line("abc", 3) == "abc");
  }
}
