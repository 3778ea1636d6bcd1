#include "policy/operator_keys.hpp"

#include <algorithm>
#include <cerrno>
#include <system_error>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "util/error.hpp"
#include "util/fs.hpp"

namespace gatebox {
namespace {

namespace fs = std::filesystem;

const OperatorKeyRule& rule_for(std::string_view key) {
  const auto& rules = operator_key_rules();
  auto it = std::find_if(rules.begin(), rules.end(), [&](const OperatorKeyRule& r) { return r.key == key; });
  if (it == rules.end()) throw make_error(ExitCode::internal, "{}: not an operator-only key", key);
  return *it;
}

std::string policy_name(const SitePolicy& policy) {
  return policy.file.empty() ? std::string("/etc/gatebox/policy.toml, or the file GATEBOX_POLICY names")
                             : policy.file.string();
}

[[noreturn]] void refuse_key(const SitePolicy& policy, const OperatorKey& k, const OperatorKeyRule& rule,
                             const std::string& listed) {
  const std::string entry = rule.kernel ? fmt::format("{{ path = \"{}\", sha256 = \"<its sha256sum>\" }}", k.value)
                                        : fmt::format("\"{}\"", k.value);
  throw make_error(ExitCode::bad_input,
                   "{}: {} = \"{}\" names {}, which is the operator's choice, not a profile's: remove it from the "
                   "profile and use {}; or allow-list this exact value in the site policy ([stacks.{}] {} = [{}] in {}){}",
                   k.where, k.key, k.value, rule.what, rule.instead, rule.policy_table, rule.policy_key, entry,
                   policy_name(policy), listed);
}

std::string joined_paths(const std::vector<fs::path>& dirs) {
  std::string out;
  for (const fs::path& d : dirs) out += (out.empty() ? "" : ", ") + d.string();
  return out;
}

// Where a site policy exists, a rootfs is host data like a mount's source: it must come from
// a directory the operator lists. Without any list of host directories the policy does not
// restrict what gates read, so an image (unpacked as data, within its limits) gets around
// nothing; a tree used as the sandbox's root (rootfs.dir = "/") would, so it is refused.
void check_rootfs(const SitePolicy& policy, Profile& profile) {
  if (policy.file.empty()) return;
  const bool is_dir = !profile.rootfs.dir.empty();
  fs::path& source = is_dir ? profile.rootfs.dir : profile.rootfs.image;
  if (source.empty()) return;
  const std::string_view key = is_dir ? "rootfs.dir" : "rootfs.image";
  const auto& rule = policy.rootfs_sources ? policy.rootfs_sources : policy.mount_sources;
  if (!rule) {
    if (!is_dir) return;
    refuse_by_policy(profile, fmt::format("rootfs.dir = \"{}\" makes a host directory the sandbox's root", source.string()),
                     policy.file.string(),
                     "use rootfs.image, or have the operator list the directories trees may come from "
                     "(rootfs.sources = [\"/srv/gatebox/trees\"] in the site policy)");
  }
  // The real path, read back from the descriptor that was opened: a symlink anywhere on the
  // way is resolved once, and the stages after this one use the path that was checked.
  const std::optional<fs::path> real = real_path(source);
  if (!real) {
    refuse_by_policy(profile,
                     fmt::format("{} = \"{}\" cannot be resolved ({})", key, source.string(),
                                 std::error_code(errno, std::generic_category()).message()),
                     rule->where, "point it at an existing file or directory under the site's sources");
  }
  const auto& dirs = rule->value;
  if (!std::any_of(dirs.begin(), dirs.end(), [&](const fs::path& d) { return path_inside(*real, d); })) {
    refuse_by_policy(profile,
                     fmt::format("{} = \"{}\" ({}) is outside the directories the site allows", key, source.string(),
                                 real->string()),
                     rule->where, fmt::format("use a rootfs under one of: {}", joined_paths(dirs)));
  }
  source = *real;
}

}  // namespace

const std::vector<OperatorKeyRule>& operator_key_rules() {
  static const std::vector<OperatorKeyRule> rules = {
      {"stack.docker.host", "docker", "hosts",
       "the Docker daemon gatebox trusts to run the gate and to report its exit status",
       "DOCKER_HOST in gatebox's environment, or --set stack.docker.host=... on its command line"},
      {"stack.docker.runtime", "docker", "runtimes", "the container runtime, which is the docker stack's isolation",
       "the daemon's default runtime, or --set stack.docker.runtime=... on gatebox's command line"},
      {"stack.gvisor.runsc", "gvisor", "runsc", "a program gatebox runs as root",
       "runsc from gatebox's PATH, or --set stack.gvisor.runsc=... on its command line", false, true},
      {"stack.qemu.binary", "qemu", "binaries", "a program gatebox runs as root",
       "qemu-system-x86_64 from gatebox's PATH, or --set stack.qemu.binary=... on its command line", false, true},
      {"stack.qemu.kernel", "qemu", "kernels",
       "the guest kernel, which sees the run's frame secret and could forge the verdict",
       "GATEBOX_KERNEL in gatebox's environment (else the host's /boot kernel), or --set stack.qemu.kernel=... on "
       "its command line",
       true, true},
      {"stack.firecracker.binary", "firecracker", "binaries", "a program gatebox runs as root",
       "firecracker from gatebox's PATH, or --set stack.firecracker.binary=... on its command line", false, true},
      {"stack.firecracker.kernel", "firecracker", "kernels",
       "the guest kernel, which sees the run's frame secret and could forge the verdict",
       "GATEBOX_KERNEL in gatebox's environment (else the host's /boot kernel), or --set stack.firecracker.kernel=... "
       "on its command line",
       true, true},
      {"stack.kubernetes.kubeconfig", "kubernetes", "kubeconfigs", "the cluster and the credentials gatebox sends it",
       "KUBECONFIG in gatebox's environment (else ~/.kube/config), or --set stack.kubernetes.kubeconfig=... on its "
       "command line",
       false, true},
      {"stack.kubernetes.context", "kubernetes", "contexts",
       "which cluster and user of the operator's kubeconfig gatebox uses",
       "the kubeconfig's current-context, or --set stack.kubernetes.context=... on gatebox's command line"},
      {"stack.kubernetes.registry", "kubernetes", "registries",
       "where gatebox pushes the rootfs and the mounts' contents, with the operator's registry credentials",
       "--set stack.kubernetes.registry=... on gatebox's command line"},
      {"stack.kubernetes.runtime_class", "kubernetes", "runtime_classes",
       "the pod's RuntimeClass, which is the kubernetes stack's isolation",
       "the cluster's default RuntimeClass, or --set stack.kubernetes.runtime_class=... on gatebox's command line"},
  };
  return rules;
}

void enforce_operator_keys(const SitePolicy& policy, Profile& profile) {
  for (const OperatorKey& k : profile.operator_keys) {
    if (k.from_option || k.is_default) continue;
    const OperatorKeyRule& rule = rule_for(k.key);
    std::string listed;
    if (rule.kernel) {
      if (auto it = policy.kernel_pins.find(k.key); it != policy.kernel_pins.end()) {
        const auto& pins = it->second.value;
        if (auto pin = pins.find(k.value); pin != pins.end()) {
          (k.key == "stack.qemu.kernel" ? profile.stack.qemu.kernel_sha256 : profile.stack.firecracker.kernel_sha256) =
              pin->second;
          continue;
        }
        std::vector<std::string> paths;
        for (const auto& [path, digest] : pins) paths.push_back(path);
        listed = fmt::format("; the list at {} has: {}", it->second.where, paths.empty() ? "nothing" : fmt::format("{}", fmt::join(paths, ", ")));
      }
    } else if (auto it = policy.allowed_values.find(k.key); it != policy.allowed_values.end()) {
      const auto& values = it->second.value;
      if (std::find(values.begin(), values.end(), k.value) != values.end()) continue;
      listed = fmt::format("; the list at {} has: {}", it->second.where,
                           values.empty() ? "nothing" : fmt::format("{}", fmt::join(values, ", ")));
    }
    refuse_key(policy, k, rule, listed);
  }
  check_rootfs(policy, profile);
}

}  // namespace gatebox
