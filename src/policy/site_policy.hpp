#pragma once
// The host operator's site policy (/etc/gatebox/policy.toml, or the file GATEBOX_POLICY
// names): which stacks gates may use, how weak a boundary is acceptable, and caps on what a
// profile may ask for. A profile that asks for more is refused before anything starts
// (exit 65), naming the policy rule and where it is written. No file, no policy.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "policy/mounts.hpp"
#include "profile/profile.hpp"
#include "util/units.hpp"

namespace gatebox {

// The isolation classes, weakest first (stack.isolation, policy stacks.min_isolation).
enum class Isolation { any = 0, kernel = 1, user_space_kernel = 2, hardware = 3 };
std::optional<Isolation> parse_isolation(std::string_view text);
std::string_view to_string(Isolation i);
// What a stack gives: native/docker share the host kernel; gvisor interposes a user-space
// kernel; qemu/firecracker are hardware-virtualised. kubernetes depends on its RuntimeClass.
Isolation stack_isolation(std::string_view stack, const Profile& profile);

struct SitePolicy {
  std::filesystem::path file;  // empty: no policy file (everything allowed)

  // A rule and where the operator wrote it ("/etc/gatebox/policy.toml:7:1"), for messages.
  template <class T>
  struct Rule {
    T value{};
    std::string where;
  };

  std::optional<Rule<std::string>> default_stack;
  std::optional<Rule<std::vector<std::string>>> allowed_stacks;
  std::optional<Rule<Isolation>> min_isolation;
  std::optional<Rule<bool>> allow_unconfined;
  std::optional<Rule<std::vector<std::string>>> allowed_syscalls;  // seccomp.allow entries permitted
  std::optional<Rule<std::vector<std::filesystem::path>>> mount_sources;
  std::optional<Rule<bool>> allow_rw_mounts;
  // [run] allow_root = false: run.user may not be uid 0 (the gate's root would be the host
  // kernel's uid 0 without capabilities on the native stack: keyrings, DAC on host files).
  std::optional<Rule<bool>> allow_root;
  std::optional<Rule<std::uint64_t>> max_memory, max_pids, max_disk, max_output, max_open_files;
  std::optional<Rule<double>> max_cpus;
  std::optional<Rule<Duration>> max_timeout;

  // The operator-only keys (policy/operator_keys.hpp): per profile key ("stack.gvisor.runsc"),
  // the exact values a profile may name; for the kernels, path -> pinned sha256.
  std::map<std::string, Rule<std::vector<std::string>>, std::less<>> allowed_values;
  std::map<std::string, Rule<std::map<std::string, std::string>>, std::less<>> kernel_pins;
  // rootfs.sources: the host directories a rootfs.image or rootfs.dir may come from.
  std::optional<Rule<std::vector<std::filesystem::path>>> rootfs_sources;

  bool stack_allowed(std::string_view stack) const;
};

// GATEBOX_POLICY when set (an empty value means "no policy"), else /etc/gatebox/policy.toml
// when it exists. Throws Error(65) for a malformed file, with file:line:col.
SitePolicy load_site_policy();
SitePolicy load_site_policy_file(const std::filesystem::path& file);

// Throws Error(65): "<profile>: <what it asks>: refused by the site policy (<where_rule>); <fix>".
[[noreturn]] void refuse_by_policy(const Profile& profile, const std::string& asks, const std::string& where_rule,
                                   std::string_view fix);

// Applies the policy's default stack to a profile that named none.
void apply_site_defaults(const SitePolicy& policy, Profile& profile);

// Refuses (Error 65) a profile that asks for more than the policy allows: the first
// violation, as "<profile>: <what it asks> — refused by the site policy (<rule> at
// <file:line:col>); <what to do>". Checks the explicit stack (not "auto": routing filters
// those), seccomp, mounts (resolved sources) and limits.
void enforce_site_policy(const SitePolicy& policy, const Profile& profile,
                         const std::vector<ResolvedMount>& mounts);

}  // namespace gatebox
