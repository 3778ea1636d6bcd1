#pragma once
// The operator's choices (issues 16 and 23). A profile is untrusted input — it may come with
// the change under review — so it never chooses what gatebox runs or talks to with the
// operator's authority: the programs it executes as root (runsc, qemu, firecracker), the guest
// kernel (which sees the run's frame secret and could forge the verdict), the Docker daemon
// and runtime, the cluster, context, credentials, registry and RuntimeClass. Those come from
// the operator: gatebox's command line (--set, whose origin the loader records), the
// environment (PATH, DOCKER_HOST, KUBECONFIG, GATEBOX_KERNEL) or the site policy, which may
// allow-list exact values a profile can then name (kernels pinned by sha256).
//
// The rootfs is the operator's concern too where a site policy exists: a tree or image is read
// from the host like a mount's source, so it must lie under the policy's rootfs.sources (or,
// without those, mounts.sources); a policy with neither refuses rootfs.dir.
#include <string_view>
#include <vector>

#include "policy/site_policy.hpp"
#include "profile/profile.hpp"

namespace gatebox {

struct OperatorKeyRule {
  std::string_view key;           // the profile's key: "stack.gvisor.runsc"
  std::string_view policy_table;  // its allow-list in the site policy: [stacks.<policy_table>] ...
  std::string_view policy_key;    // ... <policy_key> = [...]
  std::string_view what;          // why the operator chooses it, for the refusal
  std::string_view instead;       // how the operator names it instead
  bool kernel = false;            // allow-listed as { path, sha256 } tables
  bool path = false;              // allow-list entries are host paths (absolute, or a bare program name)
};
const std::vector<OperatorKeyRule>& operator_key_rules();

// Refuses (Error 65, "FILE:LINE:COL: key = value: ...") the first operator-only key the profile
// file set to anything but gatebox's default unless the site policy allow-lists that exact
// value, saying where the operator puts it instead. Values from the command line (--set) are
// the operator's and pass. An allow-listed kernel gets its pin (stack.<vmm>.kernel_sha256),
// which the VM stacks check on the file they boot. With a site policy, checks the rootfs
// source and replaces it with its real path (resolved through an O_PATH descriptor), so that
// later stages use the path that was checked. Runs nothing; reads no file's contents.
void enforce_operator_keys(const SitePolicy& policy, Profile& profile);

}  // namespace gatebox
