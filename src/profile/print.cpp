// profile_to_toml: the resolved profile as canonical TOML, every key written with its
// effective value, in the schema's order (docs/ARCHITECTURE.md §3.2), so that it documents
// what will run and loads back into the same Profile.
#include <fmt/format.h>

#include "profile/loader.hpp"
#include "profile/table_reader.hpp"

namespace gatebox {
namespace {

// A TOML basic string: quotes, backslashes and control characters escaped.
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// Environment variable names may hold any character but '=', so some need quotes.
std::string key(std::string_view k) { return is_bare_key(k) ? std::string(k) : quote(k); }

template <typename T, typename Format>
std::string list(const std::vector<T>& items, Format format) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i == 0 ? "" : ", ") + format(items[i]);
  return out + "]";
}

std::string strings(const std::vector<std::string>& items) { return list(items, quote); }
std::string ints(const std::vector<int>& items) {
  return list(items, [](int v) { return std::to_string(v); });
}

// Shortest text that reads back as the same double, always with a fraction so it stays a float.
std::string number(double v) {
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

}  // namespace

std::string profile_to_toml(const Profile& p) {
  std::string o;
  auto line = [&o](std::string_view k, const std::string& v) { o += fmt::format("{} = {}\n", k, v); };

  line("version", std::to_string(p.version));
  line("name", quote(p.name));
  line("description", quote(p.description));

  o += "\n[stack]\n";
  line("kind", quote(p.stack.kind));
  line("requires", strings(p.stack.requires_features));
  line("isolation", quote(p.stack.isolation));
  o += "\n[stack.docker]\n";
  line("host", quote(p.stack.docker.host));
  line("runtime", quote(p.stack.docker.runtime));
  o += "\n[stack.gvisor]\n";
  line("runsc", quote(p.stack.gvisor.runsc));
  line("platform", quote(p.stack.gvisor.platform));
  o += "\n[stack.qemu]\n";
  line("binary", quote(p.stack.qemu.binary));
  line("kernel", quote(p.stack.qemu.kernel));
  line("accel", quote(p.stack.qemu.accel));
  o += "\n[stack.firecracker]\n";
  line("binary", quote(p.stack.firecracker.binary));
  line("kernel", quote(p.stack.firecracker.kernel));
  o += "\n[stack.kubernetes]\n";
  line("kubeconfig", quote(p.stack.kubernetes.kubeconfig));
  line("context", quote(p.stack.kubernetes.context));
  line("namespace", quote(p.stack.kubernetes.namespace_name));
  line("runtime_class", quote(p.stack.kubernetes.runtime_class));
  line("registry", quote(p.stack.kubernetes.registry));
  line("image_pull_secret", quote(p.stack.kubernetes.image_pull_secret));
  line("seccomp", quote(p.stack.kubernetes.seccomp));
  line("seccomp_profile", quote(p.stack.kubernetes.seccomp_profile));

  o += "\n[rootfs]\n";
  if (!p.rootfs.image.empty()) line("image", quote(p.rootfs.image.string()));
  if (!p.rootfs.dir.empty()) line("dir", quote(p.rootfs.dir.string()));
  line("sha256", quote(p.rootfs.sha256));
  line("max_bytes", quote(format_size(p.rootfs.max_bytes)));
  line("max_entries", std::to_string(p.rootfs.max_entries));

  o += "\n[run]\n";
  line("argv", strings(p.run.argv));
  line("cwd", quote(p.run.cwd));
  line("user", quote(fmt::format("{}:{}", p.run.uid, p.run.gid)));
  line("hostname", quote(p.run.hostname));
  o += "\n[run.env]\n";
  for (const auto& [name, value] : p.run.env) line(key(name), quote(value));

  o += "\n[limits]\n";
  line("timeout", quote(format_duration(p.limits.timeout)));
  line("memory", quote(format_size(p.limits.memory)));
  line("pids", std::to_string(p.limits.pids));
  line("cpus", number(p.limits.cpus));
  line("disk", quote(format_size(p.limits.disk)));
  line("output", quote(format_size(p.limits.output)));
  line("open_files", std::to_string(p.limits.open_files));

  o += "\n[network]\n";
  line("mode", quote(to_string(p.network.mode)));

  o += "\n[seccomp]\n";
  line("profile", quote(p.seccomp.profile));
  line("allow", strings(p.seccomp.allow));
  line("deny", strings(p.seccomp.deny));
  line("action", quote(to_string(p.seccomp.action)));
  line("report", p.seccomp.report ? "true" : "false");

  for (const MountSpec& m : p.mounts) {
    o += "\n[[mount]]\n";
    line("source", quote(m.source.string()));
    line("target", quote(m.target));
    line("readonly", m.readonly ? "true" : "false");
  }

  o += "\n[verdict]\n";
  line("pass", ints(p.verdict.pass));
  line("error", ints(p.verdict.error));
  line("on_timeout", quote(to_string(p.verdict.on_timeout)));
  line("on_signal", quote(to_string(p.verdict.on_signal)));
  line("on_oom", quote(to_string(p.verdict.on_oom)));
  line("file", quote(p.verdict.file));
  return o;
}

}  // namespace gatebox
