#include "policy/site_policy.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <system_error>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "policy/operator_keys.hpp"
#include "profile/origins.hpp"
#include "profile/table_reader.hpp"
#include "profile/toml_parse.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/kvm.hpp"

namespace gatebox {
namespace {

namespace fs = std::filesystem;

constexpr const char* default_policy_path = "/etc/gatebox/policy.toml";

const std::vector<std::string_view>& isolation_names() {
  static const std::vector<std::string_view> names = {"any", "kernel", "user-space-kernel", "hardware"};
  return names;
}

std::string where(const fs::path& file, const TableReader& r, std::string_view key) {
  const toml::node* n = r.node(key);
  const toml::source_position pos = n != nullptr ? n->source().begin : toml::source_position{};
  return fmt::format("{}:{}:{} {}", file.string(), pos.line, pos.column, r.key_path(key));
}

template <class T>
std::optional<SitePolicy::Rule<T>> rule(const fs::path& file, const TableReader& r, std::string_view key,
                                        std::optional<T> value) {
  if (!value) return std::nullopt;
  return SitePolicy::Rule<T>{std::move(*value), where(file, r, key)};
}

std::string check_stack_name(std::string_view name) {
  static const std::vector<std::string_view> stacks = {"native", "docker", "gvisor", "qemu", "firecracker", "kubernetes"};
  if (std::find(stacks.begin(), stacks.end(), name) != stacks.end()) return "";
  return fmt::format("'{}' is not a stack; the stacks are native, docker, gvisor, qemu, firecracker, kubernetes", name);
}

std::string check_absolute(std::string_view s) {
  return !s.empty() && s.front() == '/' ? "" : fmt::format("'{}' is not an absolute host path", s);
}

// `sources` of [mounts] or [rootfs]: host directories, compared as real paths (as
// resolve_mounts and the rootfs check resolve theirs).
std::optional<SitePolicy::Rule<std::vector<fs::path>>> source_dirs(const fs::path& file, const TableReader& r) {
  auto v = r.strings("sources", check_absolute);
  if (!v) return std::nullopt;
  std::vector<fs::path> dirs;
  for (const std::string& s : *v) {
    std::error_code ec;
    fs::path real = fs::weakly_canonical(s, ec);
    dirs.push_back(ec ? fs::path(s).lexically_normal() : real);
  }
  return SitePolicy::Rule<std::vector<fs::path>>{dirs, where(file, r, "sources")};
}

// [stacks.<stack>] allow-lists of the operator-only keys (policy/operator_keys.hpp).
void parse_allow_lists(const fs::path& file, const TableReader& stacks, SitePolicy& p) {
  const auto& rules = operator_key_rules();
  for (std::string_view table : {"docker", "gvisor", "qemu", "firecracker", "kubernetes"}) {
    const TableReader t = stacks.sub(table);
    if (t.table() == nullptr) continue;
    for (auto&& [key, node] : *t.table()) {
      const bool known = std::any_of(rules.begin(), rules.end(), [&, &k = key](const OperatorKeyRule& r) {
        return r.policy_table == table && r.policy_key == k.str();
      });
      if (!known) {
        std::string list;
        for (const OperatorKeyRule& r : rules) {
          if (r.policy_table == table) list += fmt::format("{}{}", list.empty() ? "" : ", ", r.policy_key);
        }
        t.fail(key.str(), fmt::format("is not a key of [stacks.{}]; it has: {}", table, list));
      }
    }
    for (const OperatorKeyRule& r : rules) {
      if (r.policy_table != table || t.node(r.policy_key) == nullptr) continue;
      if (!r.kernel) {
        auto values = t.strings(r.policy_key, [&r](std::string_view s) -> std::string {
          if (s.empty()) return "must not be empty";
          if (r.path && s.find('/') != std::string_view::npos && s.front() != '/') {
            return fmt::format("'{}' is neither an absolute path nor a program name looked up in PATH", s);
          }
          return "";
        });
        p.allowed_values[std::string(r.key)] = {*values, where(file, t, r.policy_key)};
        continue;
      }
      const toml::array* list = t.array(r.policy_key);
      if (list == nullptr) t.fail(r.policy_key, "expected an array of { path = \"/abs/vmlinux\", sha256 = \"<64 hex>\" }");
      std::map<std::string, std::string> pins;
      for (std::size_t i = 0; i < list->size(); ++i) {
        const std::string what = fmt::format("{}[{}]", t.key_path(r.policy_key), i);
        if (!list->get(i)->is_table()) t.fail(*list->get(i), what, "expected { path = \"/abs/vmlinux\", sha256 = \"<64 hex>\" }");
        const TableReader k(list->get(i)->as_table(), what, t.origins());
        k.only({"path", "sha256"});
        auto path = k.string("path", check_absolute);
        if (!path) k.missing("path", "add the kernel's absolute path, e.g. path = \"/srv/kernels/vmlinux-6.1\"");
        auto digest = k.string("sha256", [](std::string_view h) -> std::string {
          const bool hex = std::all_of(h.begin(), h.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
          return h.size() == 64 && hex ? "" : fmt::format("'{}' is not a sha256 digest; write the 64 hexadecimal digits sha256sum prints", h);
        });
        if (!digest) k.missing("sha256", "pin the kernel: add sha256 = \"<what sha256sum prints>\"");
        std::string lower = *digest;
        std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) { return static_cast<char>(std::tolower(c)); });
        pins[fs::path(*path).lexically_normal().string()] = lower;
      }
      p.kernel_pins[std::string(r.key)] = {std::move(pins), where(file, t, r.policy_key)};
    }
  }
}

SitePolicy parse_policy(const fs::path& file, const toml::table& root, const ValueOrigins& origins) {
  SitePolicy p;
  p.file = file;
  TableReader top(&root, "", origins);
  top.only({"version", "stacks", "seccomp", "mounts", "rootfs", "run", "limits"});
  if (auto v = top.integer("version", 1, 1)) (void)v;

  TableReader stacks = top.sub("stacks");
  stacks.only({"default", "allowed", "min_isolation", "docker", "gvisor", "qemu", "firecracker", "kubernetes"});
  parse_allow_lists(file, stacks, p);
  p.default_stack = rule(file, stacks, "default", stacks.choice("default", {"native", "docker", "gvisor", "qemu", "firecracker", "kubernetes", "auto"}));
  p.allowed_stacks = rule(file, stacks, "allowed", stacks.strings("allowed", check_stack_name));
  if (auto v = stacks.choice("min_isolation", {"any", "kernel", "user-space-kernel", "hardware"})) {
    p.min_isolation = SitePolicy::Rule<Isolation>{*parse_isolation(*v), where(file, stacks, "min_isolation")};
  }
  if (p.default_stack && p.allowed_stacks && p.default_stack->value != "auto" &&
      !p.stack_allowed(p.default_stack->value)) {
    stacks.fail("default", "names a stack that stacks.allowed does not list");
  }

  TableReader seccomp = top.sub("seccomp");
  seccomp.only({"allow_unconfined", "allow"});
  p.allow_unconfined = rule(file, seccomp, "allow_unconfined", seccomp.boolean("allow_unconfined"));
  p.allowed_syscalls = rule(file, seccomp, "allow", seccomp.strings("allow"));

  TableReader mounts = top.sub("mounts");
  mounts.only({"sources", "allow_rw"});
  p.mount_sources = source_dirs(file, mounts);
  TableReader rootfs = top.sub("rootfs");
  rootfs.only({"sources"});
  p.rootfs_sources = source_dirs(file, rootfs);
  p.allow_rw_mounts = rule(file, mounts, "allow_rw", mounts.boolean("allow_rw"));

  TableReader run = top.sub("run");
  run.only({"allow_root"});
  p.allow_root = rule(file, run, "allow_root", run.boolean("allow_root"));

  TableReader limits = top.sub("limits");
  limits.only({"memory", "pids", "cpus", "disk", "output", "open_files", "timeout"});
  p.max_memory = rule(file, limits, "memory", limits.size("memory", 1));
  p.max_disk = rule(file, limits, "disk", limits.size("disk", 1));
  p.max_output = rule(file, limits, "output", limits.size("output", 1));
  if (auto v = limits.integer("pids", 1, INT64_MAX)) p.max_pids = SitePolicy::Rule<std::uint64_t>{static_cast<std::uint64_t>(*v), where(file, limits, "pids")};
  if (auto v = limits.integer("open_files", 1, INT64_MAX)) p.max_open_files = SitePolicy::Rule<std::uint64_t>{static_cast<std::uint64_t>(*v), where(file, limits, "open_files")};
  p.max_cpus = rule(file, limits, "cpus", limits.number("cpus", 0, 1024));
  p.max_timeout = rule(file, limits, "timeout", limits.duration("timeout", Duration(1)));
  return p;
}

template <class T, class Format>
void cap(const Profile& profile, const std::optional<SitePolicy::Rule<T>>& rule, T asked, std::string_view key,
         Format format) {
  if (!rule || asked <= rule->value) return;
  refuse_by_policy(profile, fmt::format("{} = {} is above the cap of {}", key, format(asked), format(rule->value)), rule->where,
         fmt::format("lower {} or ask the host's operator to raise the cap", key));
}

}  // namespace

std::optional<Isolation> parse_isolation(std::string_view text) {
  const auto& names = isolation_names();
  auto it = std::find(names.begin(), names.end(), text);
  if (it == names.end()) return std::nullopt;
  return static_cast<Isolation>(it - names.begin());
}

std::string_view to_string(Isolation i) { return isolation_names()[static_cast<std::size_t>(i)]; }

Isolation stack_isolation(std::string_view stack, const Profile& profile) {
  if (stack == "gvisor") return Isolation::user_space_kernel;
  if (stack == "firecracker") return Isolation::hardware;
  if (stack == "qemu") {
    // A guest under TCG is held by QEMU's emulator, a user-space program, and QEMU's own
    // security policy does not treat TCG as a boundary: rated as a user-space kernel, like
    // gVisor. Only a KVM guest gets hardware isolation.
    const std::string& accel = profile.stack.qemu.accel;
    const bool kvm = accel == "kvm" || (accel != "tcg" && kvm_status().usable);
    return kvm ? Isolation::hardware : Isolation::user_space_kernel;
  }
  return Isolation::kernel;  // native, docker; kubernetes: its RuntimeClass decides
}

bool SitePolicy::stack_allowed(std::string_view stack) const {
  if (!allowed_stacks) return true;
  const auto& list = allowed_stacks->value;
  return std::find(list.begin(), list.end(), stack) != list.end();
}

SitePolicy load_site_policy_file(const fs::path& file) {
  std::optional<std::string> text = read_file(file);
  if (!text) {
    throw make_error(ExitCode::bad_input, "site policy {}: cannot be read ({}); fix the file or set GATEBOX_POLICY",
                     file.string(), std::error_code(errno, std::generic_category()).message());
  }
  toml::table root;
  try {
    root = parse_toml(*text, file.string());
  } catch (const toml::parse_error& e) {
    throw make_error(ExitCode::bad_input, "{}:{}:{}: {} (the site policy is TOML; see gatebox(1), SITE POLICY)",
                     file.string(), e.source().begin.line, e.source().begin.column, e.description());
  }
  ValueOrigins origins(file.string());
  return parse_policy(file, root, origins);
}

SitePolicy load_site_policy() {
  if (const char* env = std::getenv("GATEBOX_POLICY")) {
    if (*env == '\0') return {};
    return load_site_policy_file(env);
  }
  std::error_code ec;
  if (!fs::exists(default_policy_path, ec)) return {};
  return load_site_policy_file(default_policy_path);
}

void refuse_by_policy(const Profile& profile, const std::string& asks, const std::string& where_rule,
                      std::string_view fix) {
  throw make_error(ExitCode::bad_input, "{}: {}: refused by the site policy ({}); {}", profile.file.string(), asks,
                   where_rule, fix);
}

void apply_site_defaults(const SitePolicy& policy, Profile& profile) {
  if (!profile.stack.kind_set && policy.default_stack) profile.stack.kind = policy.default_stack->value;
}

void enforce_site_policy(const SitePolicy& policy, const Profile& profile, const std::vector<ResolvedMount>& mounts) {
  if (policy.file.empty()) return;
  const std::string& kind = profile.stack.kind;
  if (kind != "auto") {
    if (!policy.stack_allowed(kind)) {
      refuse_by_policy(profile, fmt::format("stack.kind = \"{}\" is not an allowed stack", kind), policy.allowed_stacks->where,
             fmt::format("use one of: {}", fmt::join(policy.allowed_stacks->value, ", ")));
    }
    if (policy.min_isolation && stack_isolation(kind, profile) < policy.min_isolation->value) {
      refuse_by_policy(profile,
             fmt::format("the {} stack gives {} isolation, weaker than the minimum {}", kind,
                         to_string(stack_isolation(kind, profile)), to_string(policy.min_isolation->value)),
             policy.min_isolation->where, "name a stronger stack, or use stack.kind = \"auto\"");
    }
  }
  if (policy.allow_root && !policy.allow_root->value && profile.run.uid == 0) {
    refuse_by_policy(profile, "run.user is uid 0", policy.allow_root->where,
                     "run the gate as an unprivileged user, e.g. run.user = \"65534:65534\"");
  }
  const auto& s = profile.seccomp;
  if (policy.allow_unconfined && !policy.allow_unconfined->value && s.profile == "unconfined") {
    refuse_by_policy(profile, "seccomp.profile = \"unconfined\" is forbidden", policy.allow_unconfined->where,
           "use \"default\" and add the calls the gate needs to seccomp.allow");
  }
  if (policy.allowed_syscalls) {
    const auto& ok = policy.allowed_syscalls->value;
    for (const std::string& call : s.allow) {
      if (std::find(ok.begin(), ok.end(), call) == ok.end()) {
        refuse_by_policy(profile, fmt::format("seccomp.allow adds '{}', which is not on the site's list", call),
               policy.allowed_syscalls->where,
               ok.empty() ? std::string("remove it") : fmt::format("the list is: {}", fmt::join(ok, ", ")));
      }
    }
  }
  for (std::size_t i = 0; i < mounts.size(); ++i) {
    const ResolvedMount& m = mounts[i];
    if (!m.readonly && policy.allow_rw_mounts && !policy.allow_rw_mounts->value) {
      refuse_by_policy(profile, fmt::format("mount {} ({}) is writable", m.target, m.source), policy.allow_rw_mounts->where,
             "mount it read-only and let the gate write into /tmp or verdict.file");
    }
    if (policy.mount_sources) {
      const auto& dirs = policy.mount_sources->value;
      bool ok = std::any_of(dirs.begin(), dirs.end(), [&](const fs::path& d) { return path_inside(m.source, d); });
      if (!ok) {
        refuse_by_policy(profile, fmt::format("mount source {} is outside the directories the site allows", m.source),
               policy.mount_sources->where, "mount something under one of those directories");
      }
    }
  }
  const auto& l = profile.limits;
  cap(profile, policy.max_memory, l.memory, "limits.memory", format_size);
  cap(profile, policy.max_disk, l.disk, "limits.disk", format_size);
  cap(profile, policy.max_output, l.output, "limits.output", format_size);
  auto count = [](std::uint64_t n) { return std::to_string(n); };
  cap(profile, policy.max_pids, l.pids, "limits.pids", count);
  cap(profile, policy.max_open_files, l.open_files, "limits.open_files", count);
  cap(profile, policy.max_cpus, l.cpus, "limits.cpus", [](double c) { return fmt::format("{:g}", c); });
  cap(profile, policy.max_timeout, l.timeout, "limits.timeout", format_duration);
}

}  // namespace gatebox
