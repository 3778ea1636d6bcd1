#include "profile/validate.hpp"

#include "evidence/probe_matrix.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

#include <fmt/format.h>

#include "profile/table_reader.hpp"
#include "util/dns_name.hpp"

namespace gatebox {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t MiB = 1ULL << 20;

std::string check_not_empty(std::string_view text) { return text.empty() ? "must not be empty" : ""; }

// stack.requires names features as `gatebox probe` does; "docker-build" is accepted for "docker_build".
std::string check_feature(std::string_view text) {
  std::string name(text);
  std::replace(name.begin(), name.end(), '-', '_');
  const std::vector<std::string>& known = probe_features();
  if (std::find(known.begin(), known.end(), name) != known.end()) return "";
  return fmt::format("'{}' is not a feature gatebox probes; the features are: {}", text, fmt::join(known, ", "));
}

// execve takes C strings: a NUL would silently cut the argument short.
std::string check_no_nul(std::string_view text) {
  return text.find('\0') == std::string_view::npos ? "" : "contains a NUL character, which a command line cannot carry";
}

// A program: a bare name is looked up in PATH when used; a relative path with a '/' is
// a host path like any other, so it is made relative to the profile's folder.
std::string host_program(std::string value, const fs::path& base) {
  if (value.find('/') == std::string::npos) return value;
  return absolute_host_path(value, base).string();
}

std::string host_file(std::string value, const fs::path& base) {
  return value.empty() ? value : absolute_host_path(value, base).string();
}

std::optional<std::uint32_t> parse_id(std::string_view text) {
  if (text.empty() || text.size() > 10 || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  std::uint64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  // (uid_t)-1 means "no change" to setresuid, so it can never be a real id.
  if (v >= 0xffffffffULL) return std::nullopt;
  return static_cast<std::uint32_t>(v);
}

std::string check_hostname(std::string_view h) {
  bool ok = !h.empty() && h.size() <= 64 && std::all_of(h.begin(), h.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
  return ok ? "" : fmt::format("'{}' is not a valid hostname; use 1 to 64 letters, digits, '-' and '.'", h);
}

std::string check_syscall(std::string_view s) {
  bool ok = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
  return ok ? "" : fmt::format("'{}' is not a system call name; write e.g. \"ptrace\"", s);
}

TextCheck dns_label_check(std::string_view example) {
  return [example = std::string(example)](std::string_view s) -> std::string {
    if (s.empty() || is_dns_label(s)) return "";
    return fmt::format("'{}' is not a DNS label; use at most 63 lower-case letters, digits and '-', e.g. \"{}\"", s, example);
  };
}

// A Kubernetes object's name (a Secret's): a DNS subdomain, at most 253 characters of DNS
// labels joined by '.'; empty means none.
std::string check_object_name(std::string_view s) {
  if (s.empty() || is_dns_subdomain(s)) return "";  // empty: none
  return fmt::format("'{}' is not a Kubernetes object name; use lower-case letters, digits, '-' and '.', "
                     "e.g. \"registry-credentials\"", s);
}

// "host[:port]/repo" (https) or "http(s)://host[:port]/repo": the repository the rootfs image
// is pushed to; gatebox adds the digest, so a tag or digest here would be ambiguous.
std::string check_registry(std::string_view text) {
  if (text.empty()) return "";
  constexpr std::string_view example = "write e.g. \"registry.example.com/gatebox/rootfs\" or \"http://127.0.0.1:5000/gatebox\"";
  std::string_view rest = text;
  if (rest.starts_with("http://")) rest.remove_prefix(7);
  else if (rest.starts_with("https://")) rest.remove_prefix(8);
  else if (rest.find("://") != std::string_view::npos) {
    return fmt::format("'{}' has a scheme other than http:// or https://; {}", text, example);
  }
  const std::size_t slash = rest.find('/');
  const std::string_view host = rest.substr(0, slash);
  const std::string_view repo = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  bool host_ok = !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
  });
  bool repo_ok = !repo.empty() && repo.front() != '/' && repo.back() != '/' && repo.find("//") == std::string_view::npos &&
                 std::all_of(repo.begin(), repo.end(), [](char c) {
                   return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '/';
                 });
  if (!host_ok || !repo_ok) {
    return fmt::format("'{}' is not a registry and repository (lower-case, no tag or digest: gatebox pushes by digest); {}",
                       text, example);
  }
  return "";
}

// The kubelet resolves a Localhost profile under its seccomp root (--seccomp-profile-root,
// /var/lib/kubelet/seccomp by default); it must not point out of it.
std::string check_seccomp_profile_path(std::string_view text) {
  if (text.empty()) return "";
  bool dotdot = false;
  for (std::size_t at = 0; at <= text.size();) {
    std::size_t end = std::min(text.find('/', at), text.size());
    if (text.substr(at, end - at) == "..") dotdot = true;
    at = end + 1;
  }
  if (text.front() == '/' || dotdot) {
    return fmt::format("'{}' must be a path relative to the kubelet's seccomp root, without \"..\"; write e.g. "
                       "\"profiles/gatebox.json\"", text);
  }
  return "";
}

VerdictKind verdict_kind(const std::string& s) {
  return s == "pass" ? VerdictKind::pass : s == "fail" ? VerdictKind::fail : VerdictKind::error;
}

std::string as_is(std::string value, const fs::path&) { return value; }

// Reads a key that names what gatebox runs or talks to with the operator's authority (see
// OperatorKey): the value is kept as usual and recorded with its origin, for the site policy
// stage to accept or refuse. A relative path typed on the command line is relative to where
// gatebox was started, as --mount's SRC is, never to the (untrusted) profile's folder.
void read_operator_key(const TableReader& r, std::string_view key, std::string& field, std::vector<OperatorKey>& keys,
                       const fs::path& base, std::string (*resolve)(std::string, const fs::path&) = as_is,
                       const TextCheck& check = {}) {
  std::optional<std::string> v = r.string(key, check);
  if (!v) return;
  const bool option = r.from_option(key);
  std::string value = resolve(std::move(*v), option ? fs::current_path() : base);
  keys.push_back(OperatorKey{r.key_path(key), value, r.where(key), option, value == field});
  field = std::move(value);
}

void read_stack(const TableReader& r, Profile::Stack& s, std::vector<OperatorKey>& keys, const fs::path& base) {
  r.only({"kind", "requires", "isolation", "docker", "gvisor", "qemu", "firecracker", "kubernetes"});
  if (auto v = r.choice("kind", {"native", "docker", "gvisor", "qemu", "firecracker", "kubernetes", "auto"})) {
    s.kind = *v;
    s.kind_set = true;
  }
  if (auto v = r.strings("requires", check_feature)) s.requires_features = *v;
  if (auto v = r.choice("isolation", {"any", "kernel", "user-space-kernel", "hardware"})) s.isolation = *v;

  TableReader docker = r.sub("docker");
  docker.only({"host", "runtime"});
  read_operator_key(docker, "host", s.docker.host, keys, base);
  read_operator_key(docker, "runtime", s.docker.runtime, keys, base);

  TableReader gvisor = r.sub("gvisor");
  gvisor.only({"runsc", "platform"});
  read_operator_key(gvisor, "runsc", s.gvisor.runsc, keys, base, host_program, check_not_empty);
  if (auto v = gvisor.choice("platform", {"auto", "systrap", "ptrace", "kvm"})) s.gvisor.platform = *v;

  TableReader qemu = r.sub("qemu");
  qemu.only({"binary", "kernel", "accel"});
  read_operator_key(qemu, "binary", s.qemu.binary, keys, base, host_program, check_not_empty);
  read_operator_key(qemu, "kernel", s.qemu.kernel, keys, base, host_file);
  if (auto v = qemu.choice("accel", {"auto", "kvm", "tcg"})) s.qemu.accel = *v;

  TableReader firecracker = r.sub("firecracker");
  firecracker.only({"binary", "kernel"});
  read_operator_key(firecracker, "binary", s.firecracker.binary, keys, base, host_program, check_not_empty);
  read_operator_key(firecracker, "kernel", s.firecracker.kernel, keys, base, host_file);

  TableReader kube = r.sub("kubernetes");
  kube.only({"kubeconfig", "context", "namespace", "runtime_class", "registry", "image_pull_secret", "seccomp",
             "seccomp_profile"});
  read_operator_key(kube, "kubeconfig", s.kubernetes.kubeconfig, keys, base, host_file);
  read_operator_key(kube, "context", s.kubernetes.context, keys, base);
  if (auto v = kube.string("namespace", dns_label_check("gates"))) s.kubernetes.namespace_name = *v;
  read_operator_key(kube, "runtime_class", s.kubernetes.runtime_class, keys, base, as_is, dns_label_check("gvisor"));
  read_operator_key(kube, "registry", s.kubernetes.registry, keys, base, as_is, check_registry);
  if (auto v = kube.string("image_pull_secret", check_object_name)) s.kubernetes.image_pull_secret = *v;
  if (auto v = kube.choice("seccomp", {"RuntimeDefault", "Localhost"})) s.kubernetes.seccomp = *v;
  if (auto v = kube.string("seccomp_profile", check_seccomp_profile_path)) s.kubernetes.seccomp_profile = *v;
}

// What a Job under Pod Security Standards "restricted" cannot do, checked once the whole
// profile is read: each error points at the key that asks for it.
void check_kubernetes(const TableReader& root, const Profile& p) {
  const TableReader kube = root.sub("stack").sub("kubernetes");
  const auto& k = p.stack.kubernetes;
  if (k.registry.empty()) {
    if (kube.node("registry") != nullptr) kube.fail("registry", "must not be empty with stack.kind = \"kubernetes\"");
    kube.missing("registry", "the kubernetes stack pushes the rootfs image there; name it on gatebox's command line, "
                             "e.g. --set stack.kubernetes.registry='\"registry.example.com/gatebox/rootfs\"' (a "
                             "profile may name only a registry the site policy allow-lists)");
  }
  if (k.seccomp == "Localhost" && k.seccomp_profile.empty()) {
    if (kube.node("seccomp_profile") != nullptr) kube.fail("seccomp_profile", "must not be empty with seccomp = \"Localhost\"");
    kube.fail("seccomp", "\"Localhost\" needs seccomp_profile, the profile's path under the kubelet's seccomp root; "
                         "add e.g. seccomp_profile = \"profiles/gatebox.json\"");
  }
  if (k.seccomp != "Localhost" && !k.seccomp_profile.empty()) {
    kube.fail("seccomp_profile", "is used only with seccomp = \"Localhost\"; set that too, or remove this key");
  }
  if (p.run.uid == 0) {
    root.sub("run").fail("user", "the kubernetes stack runs the gate with runAsNonRoot (Pod Security Standards "
                                 "\"restricted\"), so uid 0 is refused; set run.user to e.g. \"65534:65534\"");
  }
  // The API server takes only these names (1.20's IsEnvVarName); it would refuse the Job.
  const TableReader env = root.sub("run").sub("env");
  for (const auto& [name, value] : p.run.env) {
    const bool ok = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
                    std::all_of(name.begin(), name.end(), [](char c) {
                      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
                    });
    if (!ok && env.node(name) != nullptr) {
      env.fail(name, "is not an environment variable name Kubernetes accepts; use letters, digits, '_', '-' and '.', "
                     "not starting with a digit, e.g. \"GATE_MODE\"");
    }
  }
  const TableReader seccomp = root.sub("seccomp");
  if (p.seccomp.profile == "unconfined") {
    seccomp.fail("profile", "\"unconfined\" is forbidden by Pod Security Standards \"restricted\" (the kubernetes "
                            "stack); use \"default\" (the cluster's RuntimeDefault profile applies)");
  }
  for (std::string_view list : {"allow", "deny"}) {
    const auto& names = list == "allow" ? p.seccomp.allow : p.seccomp.deny;
    if (!names.empty() && k.seccomp != "Localhost") {
      seccomp.fail(list, fmt::format("the kubernetes stack uses the cluster's seccomp profile (stack.kubernetes.seccomp = "
                                     "\"{}\"), which gatebox cannot change; remove seccomp.{} or use seccomp = "
                                     "\"Localhost\" with a profile that has it",
                                     k.seccomp, list));
    }
  }
}

void read_rootfs(const TableReader& r, Profile::Rootfs& f, const fs::path& base) {
  r.only({"image", "dir", "sha256", "max_bytes", "max_entries"});
  if (r.node("image") == nullptr && r.node("dir") == nullptr) {
    r.missing("image", "set rootfs.image (a tar file) or rootfs.dir (an unpacked tree)");
  }
  if (r.node("image") != nullptr && r.node("dir") != nullptr) {
    r.fail("dir", "cannot be used together with rootfs.image; keep one of them");
  }
  if (auto v = r.host_path("image", base)) f.image = *v;
  if (auto v = r.host_path("dir", base)) f.dir = *v;
  if (auto v = r.string("sha256", [](std::string_view h) -> std::string {
        bool hex = std::all_of(h.begin(), h.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
        if (h.empty() || (h.size() == 64 && hex)) return "";
        return fmt::format("'{}' is not a sha256 digest; write 64 hexadecimal digits (sha256sum prints them)", h);
      })) {
    if (!v->empty() && !f.dir.empty()) r.fail("sha256", "pins an image file; it cannot be used with rootfs.dir");
    std::transform(v->begin(), v->end(), v->begin(), [](char c) { return static_cast<char>(std::tolower(c)); });
    f.sha256 = *v;
  }
  if (auto v = r.size("max_bytes", 1)) f.max_bytes = *v;
  if (auto v = r.integer("max_entries", 1, INT64_MAX)) f.max_entries = static_cast<std::uint64_t>(*v);
}

void read_run(const TableReader& r, Profile::Run& run) {
  r.only({"argv", "cwd", "env", "user", "hostname"});
  auto argv = r.strings("argv", check_no_nul);
  if (!argv) r.missing("argv", "add e.g. argv = [\"/bin/sh\", \"-c\", \"make test\"] to [run], or give the command after --");
  if (argv->empty()) r.fail("argv", "is empty; give the command to run, e.g. [\"/bin/sh\", \"-c\", \"make test\"]");
  if (argv->front().empty()) r.fail(*r.array("argv")->get(0), r.key_path("argv[0]"), "the program must not be empty");
  run.argv = *argv;
  if (auto v = r.sandbox_path("cwd", false)) run.cwd = *v;

  TableReader env = r.sub("env");
  if (env.table() != nullptr) {
    for (auto&& [key, value] : *env.table()) {
      std::string_view name = key.str();
      if (name.empty() || name.find('=') != std::string_view::npos || name.find('\0') != std::string_view::npos) {
        env.fail(value, env.key_path(name), "is not a valid environment variable name (non-empty, without '=')");
      }
      run.env[std::string(name)] = *env.string(name, check_no_nul);
    }
  }

  if (auto v = r.string("user")) {
    std::string_view text = *v;
    std::size_t colon = text.find(':');
    auto uid = parse_id(text.substr(0, colon));
    auto gid = colon == std::string_view::npos ? uid : parse_id(text.substr(colon + 1));
    if (!uid || !gid) r.fail("user", fmt::format("'{}' is not UID:GID; write e.g. \"65534:65534\" (numbers only)", text));
    run.uid = *uid;
    run.gid = *gid;
  }
  if (auto v = r.string("hostname", check_hostname)) run.hostname = *v;
}

void read_limits(const TableReader& r, Profile::Limits& l) {
  r.only({"timeout", "memory", "pids", "cpus", "disk", "output", "open_files"});
  if (auto v = r.duration("timeout", Duration(1))) l.timeout = *v;
  if (auto v = r.size("memory", 4 * MiB)) l.memory = *v;
  if (auto v = r.integer("pids", 1, 4'194'304)) l.pids = static_cast<std::uint64_t>(*v);
  if (auto v = r.number("cpus", 0, 1024)) l.cpus = *v;
  if (auto v = r.size("disk", MiB)) l.disk = *v;
  if (auto v = r.size("output", 1)) l.output = *v;
  if (auto v = r.integer("open_files", 1, 1'048'576)) l.open_files = static_cast<std::uint64_t>(*v);
}

void read_seccomp(const TableReader& r, Profile::Seccomp& s) {
  r.only({"profile", "allow", "deny", "action", "report"});
  if (auto v = r.choice("profile", {"default", "strict", "unconfined"})) s.profile = *v;
  if (auto v = r.strings("allow", check_syscall)) s.allow = *v;
  if (auto v = r.strings("deny", check_syscall)) s.deny = *v;
  for (std::size_t i = 0; i < s.deny.size(); ++i) {
    if (std::find(s.allow.begin(), s.allow.end(), s.deny[i]) != s.allow.end()) {
      r.fail(*r.array("deny")->get(i), fmt::format("{}[{}]", r.key_path("deny"), i),
             fmt::format("'{}' is also in seccomp.allow; keep it in one list", s.deny[i]));
    }
  }
  if (auto v = r.choice("action", {"errno", "kill", "log"})) {
    s.action = *v == "kill" ? SeccompAction::kill : *v == "log" ? SeccompAction::log : SeccompAction::errno_eperm;
  }
  if (auto v = r.boolean("report")) s.report = *v;
}

void read_mounts(const TableReader& root, std::vector<MountSpec>& mounts, const ValueOrigins& origins, const fs::path& base,
                 const std::string& kind) {
  const toml::array* list = root.array("mount");
  if (list == nullptr) return;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const toml::node& entry = *list->get(i);
    std::string what = fmt::format("mount[{}]", i);
    if (!entry.is_table()) {
      root.fail(entry, what, fmt::format("expected a table (write [[mount]] sections), found {}", type_name(entry.type())));
    }
    TableReader r(entry.as_table(), what, origins);
    r.only({"source", "target", "readonly"});
    MountSpec m;
    auto source = r.host_path("source", base);
    if (!source) r.missing("source", "add e.g. source = \".\" (a host path, relative to the profile's folder)");
    auto target = r.sandbox_path("target", false);
    if (!target) r.missing("target", "add e.g. target = \"/src\" (an absolute path in the sandbox)");
    if (*target == "/") r.fail("target", "cannot mount over the sandbox's root; choose a folder such as \"/src\"");
    for (std::size_t j = 0; j < mounts.size(); ++j) {
      if (mounts[j].target == *target) r.fail("target", fmt::format("'{}' is already the target of mount[{}]", *target, j));
    }
    m.source = *source;
    m.target = *target;
    m.readonly = r.boolean("readonly").value_or(true);
    // The VM stacks copy a mount's contents into the guest's initramfs, the kubernetes stack
    // into the image it pushes: nothing written there could reach the host.
    if (kind == "kubernetes" && (m.target == "/tmp" || m.target.starts_with("/tmp/"))) {
      r.fail("target", "is under /tmp, which stack kubernetes gives the pod as a fresh volume that would hide it; "
                       "choose another folder, e.g. \"/src\"");
    }
    if (!m.readonly && kind == "kubernetes") {
      r.fail("readonly", fmt::format("stack kubernetes copies mounts into the pod's image and cannot share a writable "
                                     "host directory; make mount[{}] read-only (readonly = true)", i));
    }
    if (!m.readonly && (kind == "qemu" || kind == "firecracker")) {
      r.fail("readonly", fmt::format("stack {} cannot share a writable host directory; make mount[{}] read-only "
                                     "or use the native, docker or gvisor stack", kind, i));
    }
    mounts.push_back(std::move(m));
  }
}

void read_verdict(const TableReader& r, Profile::Verdict& v) {
  r.only({"pass", "error", "on_timeout", "on_signal", "on_oom", "file"});
  if (auto codes = r.integers("pass", 0, 255)) v.pass = *codes;
  if (auto codes = r.integers("error", 0, 255)) v.error = *codes;
  for (int code : v.error) {
    if (std::find(v.pass.begin(), v.pass.end(), code) == v.pass.end()) continue;
    // Blame verdict.error when the profile sets it; otherwise the pass list clashes with
    // the default error codes.
    std::string_view key = r.node("error") != nullptr ? "error" : "pass";
    r.fail(key, fmt::format("exit code {} is in both verdict.pass and verdict.error; keep it in one", code));
  }
  if (auto s = r.choice("on_timeout", {"pass", "fail", "error"})) v.on_timeout = verdict_kind(*s);
  if (auto s = r.choice("on_signal", {"pass", "fail", "error"})) v.on_signal = verdict_kind(*s);
  if (auto s = r.choice("on_oom", {"pass", "fail", "error"})) v.on_oom = verdict_kind(*s);
  if (auto s = r.sandbox_path("file", true)) {
    // Kernel interfaces, not files a gate writes: a verdict "file" there would have the
    // stack read the kernel's view (e.g. /proc/1/environ: gatebox's environment) for it.
    for (std::string_view top : {"/proc", "/sys", "/dev"}) {
      if (*s == top || s->starts_with(std::string(top) + "/")) {
        r.fail("file", fmt::format("'{}' is under {}, a kernel interface, not a file the gate writes; "
                                   "write e.g. \"/gatebox/verdict.json\"", *s, top));
      }
    }
    v.file = *s;
  }
}

}  // namespace

Profile build_profile(const toml::table& root_table, const ValueOrigins& origins, const fs::path& base_dir) {
  Profile p;
  p.base_dir = base_dir;
  TableReader root(&root_table, "", origins);
  root.only({"version", "name", "description", "stack", "rootfs", "run", "limits", "network", "seccomp", "mount", "verdict"});

  if (root.node("version") != nullptr) {
    const toml::node& n = *root.node("version");
    if (!n.is_integer() || n.as_integer()->get() != 1) {
      root.fail("version", fmt::format("this gatebox reads schema version 1 only, found {}",
                                       n.is_integer() ? std::to_string(n.as_integer()->get()) : std::string(type_name(n.type()))));
    }
  }
  auto name = root.string("name", check_not_empty);
  if (!name) root.missing("name", "add e.g. name = \"unit-tests\" (shown in logs and the report)");
  p.name = *name;
  if (auto v = root.string("description")) p.description = *v;

  read_stack(root.sub("stack"), p.stack, p.operator_keys, base_dir);
  read_rootfs(root.sub("rootfs"), p.rootfs, base_dir);
  read_run(root.sub("run"), p.run);
  read_limits(root.sub("limits"), p.limits);

  TableReader network = root.sub("network");
  network.only({"mode"});
  if (auto v = network.choice("mode", {"none", "loopback"})) p.network.mode = *v == "none" ? NetworkMode::none : NetworkMode::loopback;

  read_seccomp(root.sub("seccomp"), p.seccomp);
  read_mounts(root, p.mounts, origins, base_dir, p.stack.kind);
  read_verdict(root.sub("verdict"), p.verdict);
  if (p.stack.kind == "kubernetes") check_kubernetes(root, p);
  return p;
}

}  // namespace gatebox
