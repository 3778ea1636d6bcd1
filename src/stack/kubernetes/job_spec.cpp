#include "stack/kubernetes/job_spec.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "util/dns_name.hpp"
#include "util/units.hpp"

namespace gatebox::kube {
namespace {

using nlohmann::json;

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// A label value: at most 63 of [A-Za-z0-9-_.], beginning and ending alphanumeric; other
// characters become '-'. May be empty (a valid label value).
std::string label_value(std::string_view text) {
  std::string out;
  for (char c : text) out += is_alnum(c) || c == '-' || c == '_' || c == '.' ? c : '-';
  if (out.size() > 63) out.resize(63);
  while (!out.empty() && !is_alnum(out.back())) out.pop_back();
  std::size_t first = 0;
  while (first < out.size() && !is_alnum(out[first])) ++first;
  return out.substr(first);
}

// The kubelet expands "$(NAME)" in command and env values and turns "$$" into "$"; every
// '$' doubled makes that expansion the identity, so the gate gets run.argv byte for byte
// as on the other stacks.
std::string no_expansion(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '$') out += '$';
    out += c;
  }
  return out;
}

json seccomp_profile(const Profile& p) {
  if (p.stack.kubernetes.seccomp == "Localhost") {
    return {{"type", "Localhost"}, {"localhostProfile", p.stack.kubernetes.seccomp_profile}};
  }
  return {{"type", "RuntimeDefault"}};
}

json labels(const Profile& p, std::string_view run_id) {
  return {{"app.kubernetes.io/managed-by", "gatebox"},
          {"gatebox.dev/run", label_value(run_id)},
          {"gatebox.dev/profile", label_value(p.name)}};
}

json resources(const Profile& p) {
  // Requests equal to limits: the pod is scheduled only where the gate gets all of it
  // (QoS "Guaranteed"), so it is never the first evicted under node pressure.
  const long long millicores = std::max<long long>(1, std::llround(p.limits.cpus * 1000));
  const json amounts = {{"memory", std::to_string(p.limits.memory)},
                        {"cpu", fmt::format("{}m", millicores)},
                        {"ephemeral-storage", std::to_string(p.limits.disk)}};
  return {{"limits", amounts}, {"requests", amounts}};
}

// A Kubernetes quantity ("1Gi", "1073741824", "500m", "1e3") as a number; nullopt when it
// is not one.
std::optional<long double> parse_quantity(const json& value) {
  if (value.is_number()) return value.get<long double>();
  if (!value.is_string()) return std::nullopt;
  const std::string& s = value.get_ref<const std::string&>();
  std::size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  long double number = 0;
  bool digits = false;
  for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i, digits = true) number = number * 10 + (s[i] - '0');
  if (i < s.size() && s[i] == '.') {
    long double scale = 0.1L;
    for (++i; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i, scale /= 10, digits = true) {
      number += (s[i] - '0') * scale;
    }
  }
  if (!digits) return std::nullopt;
  const std::string suffix = s.substr(i);
  static const std::pair<std::string_view, long double> units[] = {
      {"", 1},       {"n", 1e-9L},  {"u", 1e-6L},  {"m", 1e-3L},   {"k", 1e3L},    {"M", 1e6L},
      {"G", 1e9L},   {"T", 1e12L},  {"P", 1e15L},  {"E", 1e18L},   {"Ki", 0x1p10L}, {"Mi", 0x1p20L},
      {"Gi", 0x1p30L}, {"Ti", 0x1p40L}, {"Pi", 0x1p50L}, {"Ei", 0x1p60L}};
  long double factor = 0;
  for (const auto& [name, f] : units) {
    if (suffix == name) factor = f;
  }
  if (factor == 0 && suffix.size() > 1 && (suffix[0] == 'e' || suffix[0] == 'E')) {
    std::size_t used = 0;
    try {
      const int exponent = std::stoi(suffix.substr(1), &used);
      if (used == suffix.size() - 1) factor = std::pow(10.0L, exponent);
    } catch (const std::exception&) {
    }
  }
  if (factor == 0) return std::nullopt;
  return (negative ? -number : number) * factor;
}

bool same_quantity(const json& a, const json& b) {
  const auto x = parse_quantity(a);
  const auto y = parse_quantity(b);
  if (!x || !y) return a == b;
  return std::fabs(*x - *y) <= 1e-9L * std::max(std::fabs(*x), 1.0L);
}

std::string pointer_token(std::string_view key) {
  std::string out;
  for (char c : key) out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
  return out;
}

// Every value of `sent` below `path` must be in `got`, equal (quantities by value); the
// server's additions are not looked at. A missing object is reported once, not per leaf.
void compare(const json& sent, const json* got, const std::string& path, bool quantities, std::vector<std::string>& out) {
  if (got == nullptr || got->is_null()) {
    if (!sent.is_null()) out.push_back(path);
    return;
  }
  if (sent.is_object()) {
    if (!got->is_object()) {
      out.push_back(path);
      return;
    }
    for (const auto& [key, value] : sent.items()) {
      const auto it = got->find(key);
      compare(value, it == got->end() ? nullptr : &*it, path + "/" + pointer_token(key),
              quantities || key == "resources" || key == "sizeLimit", out);
    }
    return;
  }
  if (sent.is_array()) {
    if (!got->is_array() || got->size() != sent.size()) {
      out.push_back(path);
      return;
    }
    for (std::size_t i = 0; i < sent.size(); ++i) compare(sent[i], &(*got)[i], fmt::format("{}/{}", path, i), quantities, out);
    return;
  }
  if (quantities ? !same_quantity(sent, *got) : sent != *got) out.push_back(path);
}

// What keeps the gate in its box; what the server may add or drop elsewhere
// (ttlSecondsAfterFinished, labels, terminationMessagePath) is not a matter of isolation.
constexpr std::string_view hardening_fields[] = {
    "/spec/backoffLimit",
    "/spec/completions",
    "/spec/parallelism",
    "/spec/activeDeadlineSeconds",
    "/spec/template/spec/restartPolicy",
    "/spec/template/spec/automountServiceAccountToken",
    "/spec/template/spec/enableServiceLinks",
    "/spec/template/spec/runtimeClassName",
    "/spec/template/spec/securityContext",
    "/spec/template/spec/containers/0/securityContext",
    "/spec/template/spec/containers/0/resources",
    "/spec/template/spec/volumes",
};

}  // namespace

std::string job_name(std::string_view run_id) {
  constexpr std::size_t max_length = 52;
  constexpr std::string_view prefix = "gatebox-";
  std::string id;
  for (char c : run_id) {
    const char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    id += (lower >= 'a' && lower <= 'z') || (lower >= '0' && lower <= '9') ? lower : '-';
  }
  // Run ids end in their random part: keep the end when one is too long.
  if (id.size() > max_length - prefix.size()) id.erase(0, id.size() - (max_length - prefix.size()));
  while (!id.empty() && id.front() == '-') id.erase(0, 1);
  while (!id.empty() && id.back() == '-') id.pop_back();
  return std::string(prefix) + (id.empty() ? "run" : id);
}

std::string run_label_selector(std::string_view run_id) { return "gatebox.dev/run=" + label_value(run_id); }

json render_job(const JobInput& in) {
  const Profile& p = in.profile;

  json env = json::array();
  for (const auto& [name, value] : p.run.env) env.push_back({{"name", name}, {"value", no_expansion(value)}});
  json command = json::array();
  for (const std::string& arg : p.run.argv) command.push_back(no_expansion(arg));

  json container = {
      {"name", "gate"},
      {"image", in.image},
      {"imagePullPolicy", "IfNotPresent"},  // the image is named by digest: what is cached is what we pushed
      {"command", command},                  // command, not args: the image's entrypoint must not run first
      {"workingDir", p.run.cwd},
      {"env", env},
      {"resources", resources(p)},
      {"securityContext",
       {{"allowPrivilegeEscalation", false},
        {"capabilities", {{"drop", {"ALL"}}}},
        {"readOnlyRootFilesystem", true},
        {"runAsNonRoot", true},
        {"seccompProfile", seccomp_profile(p)}}},
      {"volumeMounts", {{{"name", "tmp"}, {"mountPath", "/tmp"}}}},
      // The kubelet hands this file's content back in the terminated state (at most 4096
      // bytes): the verdict file travels without another request into the pod.
      {"terminationMessagePath", p.verdict.file.empty() ? "/dev/termination-log" : p.verdict.file},
      {"terminationMessagePolicy", "File"},
  };

  json pod_spec = {
      {"restartPolicy", "Never"},
      // However the pod is deleted (gatebox's own delete, the Job's garbage collection, a
      // sweep), the kubelet kills its containers within a second: a gate must not outlive
      // its run by the default 30 s, and a kubelet that has begun a 30 s kill does not
      // shorten it when a later delete asks for less.
      {"terminationGracePeriodSeconds", 1},
      {"automountServiceAccountToken", false},  // the gate gets no credentials to the cluster
      {"enableServiceLinks", false},            // nor the addresses of the namespace's services
      {"securityContext",
       {{"runAsNonRoot", true},
        {"runAsUser", p.run.uid},
        {"runAsGroup", p.run.gid},
        {"seccompProfile", seccomp_profile(p)}}},
      {"containers", {container}},
      {"volumes", {{{"name", "tmp"}, {"emptyDir", {{"sizeLimit", std::to_string(p.limits.disk)}}}}}},
  };
  if (is_dns_label(p.run.hostname)) pod_spec["hostname"] = p.run.hostname;
  if (!p.stack.kubernetes.runtime_class.empty()) pod_spec["runtimeClassName"] = p.stack.kubernetes.runtime_class;
  // A private registry: the kubelet pulls with this Secret (type kubernetes.io/dockerconfigjson).
  if (!p.stack.kubernetes.image_pull_secret.empty()) {
    pod_spec["imagePullSecrets"] = {{{"name", p.stack.kubernetes.image_pull_secret}}};
  }

  const long long timeout_ms = p.limits.timeout.count();
  json metadata = {{"name", job_name(in.run_id)}, {"labels", labels(p, in.run_id)}};
  if (!in.namespace_name.empty()) metadata["namespace"] = in.namespace_name;

  return {
      {"apiVersion", "batch/v1"},
      {"kind", "Job"},
      {"metadata", metadata},
      {"spec",
       {{"backoffLimit", 0},  // a failed gate is a verdict, never a retry
        {"completions", 1},
        {"parallelism", 1},
        // The deadline counts from the Job's start, scheduling and image pull included;
        // gatebox's own timer counts limits.timeout from the container's start and deletes
        // the Job then. The deadline is the cluster's backstop when gatebox is gone.
        {"activeDeadlineSeconds", std::max<long long>(1, (timeout_ms + 999) / 1000) + kDeadlineAllowanceSeconds},
        // gatebox deletes the Job itself; this only bounds what a killed gatebox leaves behind.
        {"ttlSecondsAfterFinished", 300},
        {"template", {{"metadata", {{"labels", labels(p, in.run_id)}}}, {"spec", pod_spec}}}}},
  };
}

std::vector<std::string> dropped_hardening_fields(const json& sent, const json& returned) {
  std::vector<std::string> out;
  for (std::string_view field : hardening_fields) {
    const json::json_pointer ptr{std::string(field)};
    if (!sent.contains(ptr)) continue;
    const json* got = returned.contains(ptr) ? &returned.at(ptr) : nullptr;
    const bool quantities = field.ends_with("/resources");
    compare(sent.at(ptr), got, std::string(field), quantities, out);
  }
  return out;
}

std::vector<std::string> unenforced_limits(const Profile& p) {
  std::vector<std::string> out;
  out.push_back(fmt::format("limits.pids = {}: a Job cannot limit processes (the kubelet's --pod-max-pids applies)", p.limits.pids));
  out.push_back(fmt::format("limits.open_files = {}: a Job cannot set RLIMIT_NOFILE (the container runtime's default applies)",
                            p.limits.open_files));
  out.push_back(fmt::format("limits.output = {}: enforced by gatebox on the log stream; the node keeps the container's "
                            "log, which counts toward ephemeral-storage",
                            format_size(p.limits.output)));
  out.push_back(fmt::format("network.mode = {}: the pod is on the cluster's pod network; only a NetworkPolicy can cut it off",
                            to_string(p.network.mode)));
  const auto& k = p.stack.kubernetes;
  if (k.seccomp == "Localhost") {
    out.push_back(fmt::format("seccomp: the node's Localhost profile \"{}\" decides; seccomp.profile, allow, deny and action "
                              "are not applied",
                              k.seccomp_profile));
  } else if (p.seccomp.profile != "default" || p.seccomp.action != SeccompAction::errno_eperm) {
    out.push_back(fmt::format("seccomp.profile = {}, action = {}: the cluster's RuntimeDefault profile applies instead",
                              p.seccomp.profile, to_string(p.seccomp.action)));
  }
  if (p.seccomp.report) out.push_back("seccomp.report: the kubernetes stack cannot list denied calls");
  return out;
}

}  // namespace gatebox::kube
