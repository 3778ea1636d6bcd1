// Resolving the profile's [seccomp] table into a policy: base list, plus allow, minus deny,
// with every name checked against the x86_64 system call table.
#include "policy/seccomp.hpp"

#include <seccomp.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <memory>
#include <set>
#include <utility>

#include "util/error.hpp"

namespace gatebox {
namespace {

// x86_64 calls newer than libseccomp 2.5.4's table (which ends at futex_requeue, 456), with
// their numbers from the kernel's syscall_64.tbl. Without them Docker's newer entries and a
// user's `allow = ["mseal"]` could not be compiled, and a gate would get EPERM, not the call.
constexpr std::array<std::pair<std::string_view, int>, 14> newer_x86_64_syscalls = {{
    {"uretprobe", 335},
    {"statmount", 457},
    {"listmount", 458},
    {"lsm_get_self_attr", 459},
    {"lsm_set_self_attr", 460},
    {"lsm_list_modules", 461},
    {"mseal", 462},
    {"setxattrat", 463},
    {"getxattrat", 464},
    {"listxattrat", 465},
    {"removexattrat", 466},
    {"open_tree_attr", 467},
    {"file_getattr", 468},
    {"file_setattr", 469},
}};

// Highest number worth asking libseccomp about when listing every x86_64 name.
constexpr int max_x86_64_syscall = 600;

std::set<std::string> all_x86_64_names() {
  std::set<std::string> names;
  for (int nr = 0; nr <= max_x86_64_syscall; ++nr) {
    // libseccomp hands out a malloc'ed copy.
    std::unique_ptr<char, decltype(&std::free)> name(seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr),
                                                     &std::free);
    if (name) names.emplace(name.get());
  }
  for (const auto& [name, nr] : newer_x86_64_syscalls) names.emplace(name);
  return names;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string suggestion_for(std::string_view name) {
  static const std::set<std::string> names = all_x86_64_names();
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(2, name.size() / 3) + 1;
  for (const auto& candidate : names) {
    std::size_t d = edit_distance(name, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best.empty() ? std::string() : fmt::format(" (did you mean '{}'?)", best);
}

void check_names(std::string_view key, const std::vector<std::string>& names) {
  for (const auto& name : names) {
    if (!x86_64_syscall_number(name)) {
      throw make_error(ExitCode::bad_input, "seccomp.{}: '{}' is not a system call on x86_64{}", key, name,
                       suggestion_for(name));
    }
  }
}

void erase_rules(std::vector<SyscallRule>& rules, const std::string& name) {
  std::erase_if(rules, [&](const SyscallRule& r) { return r.name == name; });
}

}  // namespace

std::optional<int> x86_64_syscall_number(std::string_view name) {
  std::string copy(name);
  // Negative answers are libseccomp's pseudo numbers for calls of other architectures.
  int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, copy.c_str());
  if (nr >= 0) return nr;
  for (const auto& [newer, number] : newer_x86_64_syscalls) {
    if (newer == name) return number;
  }
  return std::nullopt;
}

std::string x86_64_syscall_name(int nr) {
  for (const auto& [newer, number] : newer_x86_64_syscalls) {
    if (number == nr) return std::string(newer);
  }
  if (nr >= 0) {
    std::unique_ptr<char, decltype(&std::free)> name(seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr),
                                                     &std::free);
    if (name) return name.get();
  }
  return fmt::format("syscall_{}", nr);
}

SeccompPolicy resolve_seccomp(const Profile::Seccomp& seccomp) {
  SeccompPolicy policy;
  policy.profile = seccomp.profile;
  policy.action = seccomp.action;

  if (seccomp.profile == "unconfined") {
    // No filter at all: allow/deny would have nothing to edit, and silently ignoring a deny
    // would give the gate a call its author meant to forbid.
    if (!seccomp.allow.empty() || !seccomp.deny.empty()) {
      throw make_error(ExitCode::bad_input,
                       "seccomp: allow and deny cannot be used with profile = \"unconfined\", which installs no "
                       "filter; use profile = \"default\" or \"strict\" with them, or remove them");
    }
    policy.unconfined = true;
    return policy;
  }
  if (seccomp.profile == "default") {
    policy.rules = default_allowlist();
  } else if (seccomp.profile == "strict") {
    policy.rules = strict_allowlist();
  } else {
    throw make_error(ExitCode::bad_input,
                     "seccomp.profile: '{}' is not a seccomp profile; use \"default\", \"strict\" or \"unconfined\"",
                     seccomp.profile);
  }

  check_names("allow", seccomp.allow);
  check_names("deny", seccomp.deny);
  // An allowed name drops the conditions the base list had for it (e.g. clone's namespace
  // mask): the user asked for the call, not for one shape of it.
  for (const auto& name : seccomp.allow) {
    erase_rules(policy.rules, name);
    policy.rules.push_back({name, {}, 0});
  }
  // Deny is applied last, so a name in both lists ends up denied.
  for (const auto& name : seccomp.deny) erase_rules(policy.rules, name);
  return policy;
}

}  // namespace gatebox
