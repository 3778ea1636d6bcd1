#pragma once
// Seccomp policy: resolved once from the profile, rendered by each stack in its own form
// (a BPF program for native and the guest agent, Docker's JSON, OCI linux.seccomp).
#include <linux/filter.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "profile/profile.hpp"

namespace gatebox {

// One argument comparison, as Docker's profile writes them: arg[index] OP value.
// The comparisons are on the full 64-bit register, unsigned (libseccomp's semantics).
struct ArgCond {
  enum class Op { eq, ne, masked_eq, lt, le, gt, ge };  // masked_eq: (arg & value) == value_two
  unsigned index = 0;
  std::uint64_t value = 0;
  std::uint64_t value_two = 0;
  Op op = Op::eq;
};

// Several rules with the same name are alternatives (OR): the call is allowed when any of
// them matches, e.g. personality(0), personality(8), ... each as its own rule.
struct SyscallRule {
  std::string name;
  std::vector<ArgCond> args;  // all must hold (AND); empty = unconditional
  int errno_ret = 0;          // 0 = allow; otherwise the call fails with this errno (e.g. clone3 -> ENOSYS)
};

struct SeccompPolicy {
  std::string profile;              // default | strict | unconfined (what the profile asked for)
  bool unconfined = false;          // no filter at all
  std::vector<SyscallRule> rules;   // what is allowed (or answered with errno_ret); everything else is denied
  SeccompAction action = SeccompAction::errno_eperm;  // what a denied call gets
  // Denied calls go to a user-space listener (SECCOMP_RET_USER_NOTIF) that counts them and
  // answers as `action` would; rules with their own errno keep it, other ABIs are still killed.
  bool notify = false;
};

// The policy of a profile: the base allowlist, plus `allow`, minus `deny`.
// Throws Error(65) for a syscall name this architecture does not know.
SeccompPolicy resolve_seccomp(const Profile::Seccomp& seccomp);

// The base allowlists. `default` is what Docker's default profile permits an unprivileged
// container on x86_64; `strict` is a much smaller set for simple computational gates.
const std::vector<SyscallRule>& default_allowlist();
const std::vector<SyscallRule>& strict_allowlist();

// A BPF program for x86_64 that also kills the 32-bit and x32 ABIs. Empty when unconfined.
// Not loaded here: the sandbox child installs it (after setting no_new_privs) with
// seccomp(SECCOMP_SET_MODE_FILTER), which needs no allocation. Throws Error(70).
std::vector<sock_filter> compile_seccomp_bpf(const SeccompPolicy& policy);

// The x86_64 number of a system call, by name; nullopt when x86_64 has no such call.
// Knows the calls newer than the libseccomp we build against, too.
std::optional<int> x86_64_syscall_number(std::string_view name);

// The reverse: the x86_64 name of a call number; "syscall_<nr>" for a number x86_64 lacks.
std::string x86_64_syscall_name(int nr);

}  // namespace gatebox

namespace gatebox {
// compile_seccomp_bpf, remembered in <cache_dir>/seccomp/ by a digest of the policy:
// libseccomp takes milliseconds to build a filter, longer than the rest of a native
// sandbox's set-up, and a host runs the same few policies over and over.
std::vector<sock_filter> compile_seccomp_bpf_cached(const SeccompPolicy& policy,
                                                    const std::filesystem::path& cache_dir);
}  // namespace gatebox
