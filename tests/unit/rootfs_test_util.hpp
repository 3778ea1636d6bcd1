#pragma once
// Shared by the rootfs tests: a scratch area with a destination and a canary beside it.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "util/error.hpp"
#include "util/fs.hpp"

namespace gatebox::test {

namespace fs = std::filesystem;

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    out.push_back(it->path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline mode_t mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// Runs f and returns the gatebox::Error it throws (the test fails if it throws nothing).
template <typename F>
Error expect_error(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  FAIL("expected a gatebox::Error");
  return Error(ExitCode::pass, "");
}

// tmp/ holds: dest/ (where archives are unpacked), canary/keep (must never change),
// and the archives themselves.
struct Scratch {
  TempDir tmp{fs::temp_directory_path(), "gatebox-rootfs-test-"};
  fs::path dest = tmp.path() / "dest";
  fs::path canary = tmp.path() / "canary";

  Scratch() {
    fs::create_directory(dest);
    fs::create_directory(canary);
    std::ofstream(canary / "keep") << "canary";
  }
  fs::path file(const std::string& name) const { return tmp.path() / name; }
  // Everything in the canary dir is exactly as it was made.
  bool canary_intact() const {
    return names_in(canary) == std::vector<std::string>{"keep"} && slurp(canary / "keep") == "canary";
  }
};

}  // namespace gatebox::test
