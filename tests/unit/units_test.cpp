#include <doctest/doctest.h>

#include "util/units.hpp"

using namespace gatebox;
using namespace std::chrono_literals;

namespace {
constexpr std::uint64_t KiB = 1024, MiB = KiB * 1024, GiB = MiB * 1024, TiB = GiB * 1024;
}

TEST_SUITE("util::units") {
  TEST_CASE("sizes as users write them") {
    CHECK(parse_size("0") == 0u);
    CHECK(parse_size("512") == 512u);
    CHECK(parse_size("1B") == 1u);
    CHECK(parse_size("512KiB") == 512 * KiB);
    CHECK(parse_size("64MiB") == 64 * MiB);
    CHECK(parse_size("2GiB") == 2 * GiB);
    CHECK(parse_size("1G") == GiB);
    CHECK(parse_size("4K") == 4 * KiB);
    CHECK(parse_size("3M") == 3 * MiB);
    CHECK(parse_size("1T") == TiB);
    CHECK(parse_size("1TiB") == TiB);
  }

  TEST_CASE("text that is not a size is refused") {
    for (const char* bad : {"", "MiB", "512 MB", "512MB", "512 MiB", "1.5GiB", "-1", "+1", " 1", "1 ", "1kib",
                            "0x10", "1KB", "1PiB", "1e3", "GiB1"}) {
      CAPTURE(bad);
      CHECK_FALSE(parse_size(bad).has_value());
    }
  }

  TEST_CASE("sizes that do not fit 64 bits are refused, not wrapped") {
    CHECK(parse_size("18446744073709551615") == UINT64_MAX);
    CHECK_FALSE(parse_size("18446744073709551616").has_value());
    CHECK(parse_size("16777215TiB") == 16777215 * TiB);
    CHECK_FALSE(parse_size("16777216TiB").has_value());  // exactly 2^64
    CHECK_FALSE(parse_size("99999999999999999999999GiB").has_value());
  }

  TEST_CASE("durations as users write them") {
    CHECK(parse_duration("250ms") == 250ms);
    CHECK(parse_duration("30s") == 30s);
    CHECK(parse_duration("5m") == 5min);
    CHECK(parse_duration("1h") == 1h);
    CHECK(parse_duration("30") == 30s);  // a bare integer means seconds
    CHECK(parse_duration("0") == 0ms);
  }

  TEST_CASE("text that is not a duration is refused") {
    for (const char* bad : {"", "s", "5 m", "1d", "1.5s", "-1s", "5M", "10sec", "30S", "1h30m", " 30s"}) {
      CAPTURE(bad);
      CHECK_FALSE(parse_duration(bad).has_value());
    }
  }

  TEST_CASE("durations that overflow are refused") {
    CHECK(parse_duration("9223372036854775807ms") == Duration(INT64_MAX));
    CHECK_FALSE(parse_duration("9223372036854775808ms").has_value());
    CHECK_FALSE(parse_duration("9223372036854776s").has_value());
    CHECK_FALSE(parse_duration("18446744073709551615").has_value());
    CHECK_FALSE(parse_duration("5124095576030432h").has_value());
  }

  TEST_CASE("canonical size spellings") {
    CHECK(format_size(0) == "0");
    CHECK(format_size(1) == "1");
    CHECK(format_size(1536) == "1536");
    CHECK(format_size(KiB) == "1KiB");
    CHECK(format_size(16 * MiB) == "16MiB");
    CHECK(format_size(GiB) == "1GiB");
    CHECK(format_size(TiB) == "1TiB");
    CHECK(format_size(1024 * TiB) == "1024TiB");
    for (std::uint64_t v : {std::uint64_t{0}, std::uint64_t{7}, 3 * KiB + 1, 1536 * MiB, 5 * TiB, UINT64_MAX}) {
      CAPTURE(v);
      CHECK(parse_size(format_size(v)) == v);
    }
  }

  TEST_CASE("canonical duration spellings") {
    CHECK(format_duration(0ms) == "0s");
    CHECK(format_duration(250ms) == "250ms");
    CHECK(format_duration(1500ms) == "1500ms");
    CHECK(format_duration(30s) == "30s");
    CHECK(format_duration(90s) == "90s");
    CHECK(format_duration(5min) == "5m");
    CHECK(format_duration(2h) == "2h");
    for (Duration d : {Duration(0), Duration(1), Duration(61'000), Duration(3'600'001), Duration(INT64_MAX)}) {
      CAPTURE(d.count());
      CHECK(parse_duration(format_duration(d)) == d);
    }
  }
}
