#pragma once
// What the fuzz targets share: a failed invariant aborts with a message, which libFuzzer
// records as a crash and saves the input for.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

namespace gatebox::fuzz {

[[noreturn]] inline void violated(const std::string& what) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what.c_str());
  std::abort();
}

inline void check(bool ok, const std::string& what) {
  if (!ok) violated(what);
}

// Every failure the program can report goes through gatebox::Error (library exceptions
// are turned into Error where they enter, docs/ARCHITECTURE.md §6.3). Anything else that
// escapes would reach main's "internal error" path: a finding.
[[noreturn]] inline void unexpected_exception(const char* stage) {
  try {
    throw;
  } catch (const std::exception& e) {
    violated(std::string(stage) + " threw a non-gatebox exception: " + e.what());
  } catch (...) {
    violated(std::string(stage) + " threw a non-standard exception");
  }
}

}  // namespace gatebox::fuzz
