#pragma once
// Profile loading: TOML file -> overrides -> validation -> Profile. Every error names
// file:line:col (or the command-line option) and shows what is expected.
#include <filesystem>
#include <string>
#include <vector>

#include "profile/profile.hpp"

namespace gatebox {

// Command-line changes to a profile (docs/ARCHITECTURE.md §1.1). Each is validated like the
// profile itself, but a bad one is a usage error (exit 64) that names the option.
struct Overrides {
  std::vector<std::string> set;     // "limits.pids=64", VALUE in TOML syntax
  std::vector<std::string> mounts;  // "SRC:DST[:ro|rw]"; SRC relative to the current directory
  std::vector<std::string> env;     // "NAME=VALUE"
  std::string timeout;              // DURATION, empty = keep
  std::string stack;                // KIND, empty = keep
  std::vector<std::string> argv;    // replaces run.argv when non-empty
};

// Throws Error: 65 for a bad profile, 64 for a bad override.
Profile load_profile(const std::filesystem::path& file, const Overrides& overrides = {});

// The resolved profile as TOML (`gatebox validate --print`); loading it again gives the same Profile.
std::string profile_to_toml(const Profile& profile);

}  // namespace gatebox
