#pragma once
// Root mode's user namespace (docs/ARCHITECTURE.md §5): the sandbox's ids 0-65535 are an
// unprivileged range of host ids, so that uid 0 in the sandbox is nobody special to the host
// kernel (DAC on host files, keyrings, every other uid check), and the cached tree is
// idmapped onto that range, so that inside it looks as the image has it.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "util/fd.hpp"

namespace gatebox {

// The ids a root-mode sandbox maps: 65536 of them.
inline constexpr std::uint32_t kSandboxIds = 65536;

// A random slot of kSandboxIds host ids between 2^30 and 2^31: concurrent runs almost never
// share one, and no ordinary account lives there.
std::uint32_t pick_id_base();

// The tree as a detached mount (open_tree) idmapped onto [base, base + kSandboxIds),
// read-only, nosuid, nodev. nullopt, with `why` saying what is missing, where the kernel
// (before 5.12) or the tree's file system cannot idmap.
std::optional<Fd> idmapped_tree(const std::filesystem::path& tree, std::uint32_t base, std::string& why);

// Maps the user namespace of `pid` (a child just cloned with CLONE_NEWUSER): ids
// 0-65535 to the host ids from `base` on. Throws Error(70).
void map_id_range(pid_t pid, std::uint32_t base);

}  // namespace gatebox
