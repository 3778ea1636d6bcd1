#pragma once
// Command-line overrides (docs/ARCHITECTURE.md §1.1) written into the parsed profile table
// before it is validated, each node marked with the option that put it there, so that a bad
// value is reported against the option (exit 64) and a good one can complete a profile.
#include <toml++/toml.h>

#include "profile/loader.hpp"
#include "profile/origins.hpp"

namespace gatebox {

// Throws Error(64) for an option whose form is wrong (no '=', not TOML, ...); values in
// the right form are left to the validator.
void apply_overrides(toml::table& root, const Overrides& overrides, ValueOrigins& origins);

}  // namespace gatebox
