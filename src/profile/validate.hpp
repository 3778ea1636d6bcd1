#pragma once
// Schema version 1 (docs/ARCHITECTURE.md §3.2): a parsed TOML table, overrides already
// applied, checked key by key and turned into a Profile. The first problem found is thrown
// as Error.
#include <filesystem>

#include <toml++/toml.h>

#include "profile/origins.hpp"
#include "profile/profile.hpp"

namespace gatebox {

// `base_dir` is the absolute folder host paths are relative to.
Profile build_profile(const toml::table& root, const ValueOrigins& origins, const std::filesystem::path& base_dir);

}  // namespace gatebox
