#include "stack/vm/job.hpp"

#include <cmath>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace gatebox::vm {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& what) { throw std::runtime_error(what); }

std::string to_hex(const Secret& s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : s) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0xf];
  }
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Secret secret_from_hex(const std::string& hex) {
  if (hex.size() != 2 * kSecretBytes) {
    bad("job: secret must be " + std::to_string(2 * kSecretBytes) + " hex digits, got " + std::to_string(hex.size()));
  }
  Secret s{};
  for (std::size_t i = 0; i < kSecretBytes; ++i) {
    const int hi = hex_digit(hex[2 * i]);
    const int lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) bad("job: secret is not hexadecimal");
    s[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return s;
}

// Strict reading: a key this version does not know means host and agent disagree about
// the protocol, which must not be silently ignored (a dropped limit is a weaker sandbox).
void reject_unknown(const json& obj, const std::set<std::string>& known, const char* what) {
  if (!obj.is_object()) bad(std::string(what) + " is not a JSON object");
  for (const auto& item : obj.items()) {
    if (!known.contains(item.key())) bad(std::string(what) + ": unknown key '" + item.key() + "'");
  }
}

template <typename T>
T get(const json& obj, const char* key, const T& fallback) {
  auto it = obj.find(key);
  if (it == obj.end()) return fallback;
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    bad(std::string("job: '") + key + "' has the wrong type");
  }
}

void check_text(const std::string& s, const std::string& what) {
  if (s.find('\0') != std::string::npos) bad("job: " + what + " contains a NUL byte");
}

void check_absolute(const std::string& path, const std::string& what) {
  if (path.empty() || path.front() != '/') bad("job: " + what + " must be an absolute path, got '" + path + "'");
  check_text(path, what);
}

json filter_to_json(const std::vector<sock_filter>& filter) {
  json out = json::array();
  for (const sock_filter& f : filter) out.push_back({f.code, f.jt, f.jf, f.k});
  return out;
}

std::vector<sock_filter> filter_from_json(const json& arr) {
  if (!arr.is_array()) bad("job: 'seccomp' is not an array");
  if (arr.size() > BPF_MAXINSNS) {
    bad("job: seccomp filter has " + std::to_string(arr.size()) + " instructions, the kernel takes at most " +
        std::to_string(BPF_MAXINSNS));
  }
  std::vector<sock_filter> out;
  out.reserve(arr.size());
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const json& ins = arr[i];
    auto field = [&](std::size_t n, std::uint64_t max) -> std::uint64_t {
      if (!ins[n].is_number_unsigned() || ins[n].get<std::uint64_t>() > max) {
        bad("job: seccomp instruction " + std::to_string(i) + " has a field out of range");
      }
      return ins[n].get<std::uint64_t>();
    };
    if (!ins.is_array() || ins.size() != 4) {
      bad("job: seccomp instruction " + std::to_string(i) + " is not [code, jt, jf, k]");
    }
    sock_filter f{};
    f.code = static_cast<std::uint16_t>(field(0, 0xffff));
    f.jt = static_cast<std::uint8_t>(field(1, 0xff));
    f.jf = static_cast<std::uint8_t>(field(2, 0xff));
    f.k = static_cast<std::uint32_t>(field(3, 0xffffffffu));
    out.push_back(f);
  }
  return out;
}

template <typename F>
auto parse_with_context(std::string_view text, const char* what, F&& convert) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    bad(std::string(what) + " is not valid JSON: " + e.what());
  }
  try {
    return convert(doc);
  } catch (const json::exception& e) {
    bad(std::string(what) + ": " + e.what());
  }
}

}  // namespace

std::string job_to_json(const Job& job) {
  json mounts = json::array();
  for (const JobMount& m : job.mounts) mounts.push_back({{"target", m.target}, {"readonly", m.readonly}});
  const json doc = {
      {"secret", to_hex(job.secret)},
      {"argv", job.argv},
      {"env", job.env},
      {"cwd", job.cwd},
      {"uid", job.uid},
      {"gid", job.gid},
      {"hostname", job.hostname},
      {"root_readonly", job.root_readonly},
      {"loopback", job.loopback},
      {"memory", job.memory},
      {"pids", job.pids},
      {"cpus", job.cpus},
      {"disk", job.disk},
      {"open_files", job.open_files},
      {"output", job.output},
      {"verdict_file", job.verdict_file},
      {"mounts", mounts},
      {"seccomp", filter_to_json(job.seccomp)},
  };
  return doc.dump();
}

Job job_from_json(std::string_view text) {
  return parse_with_context(text, "job", [](const json& doc) {
    reject_unknown(doc, {"secret", "argv", "env", "cwd", "uid", "gid", "hostname", "root_readonly", "loopback",
                         "memory", "pids", "cpus", "disk", "open_files", "output", "verdict_file", "mounts",
                         "seccomp"},
                   "job");
    Job job;
    if (!doc.contains("secret")) bad("job: missing 'secret'");
    job.secret = secret_from_hex(get<std::string>(doc, "secret", ""));
    job.argv = get<std::vector<std::string>>(doc, "argv", {});
    if (job.argv.empty() || job.argv.front().empty()) bad("job: missing argv (the gate's command)");
    for (const std::string& a : job.argv) check_text(a, "argv");
    job.env = get<std::map<std::string, std::string>>(doc, "env", {});
    for (const auto& [k, v] : job.env) {
      if (k.empty() || k.find('=') != std::string::npos) bad("job: bad environment variable name '" + k + "'");
      check_text(k, "env");
      check_text(v, "env");
    }
    job.cwd = get<std::string>(doc, "cwd", job.cwd);
    check_absolute(job.cwd, "cwd");
    job.uid = get<std::uint32_t>(doc, "uid", job.uid);
    job.gid = get<std::uint32_t>(doc, "gid", job.gid);
    job.hostname = get<std::string>(doc, "hostname", job.hostname);
    if (job.hostname.empty() || job.hostname.size() > 64) bad("job: hostname must be 1 to 64 characters");
    check_text(job.hostname, "hostname");
    job.root_readonly = get<bool>(doc, "root_readonly", job.root_readonly);
    job.loopback = get<bool>(doc, "loopback", job.loopback);
    job.memory = get<std::uint64_t>(doc, "memory", job.memory);
    job.pids = get<std::uint64_t>(doc, "pids", job.pids);
    job.cpus = get<double>(doc, "cpus", job.cpus);
    if (!std::isfinite(job.cpus) || job.cpus < 0) bad("job: cpus must be a non-negative number");
    job.disk = get<std::uint64_t>(doc, "disk", job.disk);
    job.open_files = get<std::uint64_t>(doc, "open_files", job.open_files);
    job.output = get<std::uint64_t>(doc, "output", job.output);
    job.verdict_file = get<std::string>(doc, "verdict_file", job.verdict_file);
    if (!job.verdict_file.empty()) check_absolute(job.verdict_file, "verdict_file");
    if (auto it = doc.find("mounts"); it != doc.end()) {
      if (!it->is_array()) bad("job: 'mounts' is not an array");
      for (const json& m : *it) {
        reject_unknown(m, {"target", "readonly"}, "job mount");
        JobMount jm;
        jm.target = get<std::string>(m, "target", "");
        check_absolute(jm.target, "mount target");
        jm.readonly = get<bool>(m, "readonly", true);
        job.mounts.push_back(std::move(jm));
      }
    }
    if (auto it = doc.find("seccomp"); it != doc.end()) job.seccomp = filter_from_json(*it);
    return job;
  });
}

std::string exit_report_to_json(const ExitReport& r) {
  json doc = {
      {"exit_code", r.exit_code ? json(*r.exit_code) : json(nullptr)},
      {"signal", r.signal ? json(*r.signal) : json(nullptr)},
      {"oom_killed", r.oom_killed},
      {"output_truncated", r.output_truncated},
      {"exec_error", r.exec_error ? json(*r.exec_error) : json(nullptr)},
      {"cpu_user_ms", r.cpu_user_ms},
      {"cpu_system_ms", r.cpu_system_ms},
      {"max_rss_kib", r.max_rss_kib},
      {"run_ms", r.run_ms},
  };
  return doc.dump();
}

ExitReport exit_report_from_json(std::string_view text) {
  return parse_with_context(text, "exit report", [](const json& doc) {
    reject_unknown(doc, {"exit_code", "signal", "oom_killed", "output_truncated", "exec_error", "cpu_user_ms",
                         "cpu_system_ms", "max_rss_kib", "run_ms"},
                   "exit report");
    ExitReport r;
    auto optional_int = [&](const char* key) -> std::optional<int> {
      auto it = doc.find(key);
      if (it == doc.end() || it->is_null()) return std::nullopt;
      if (!it->is_number_integer()) bad(std::string("exit report: '") + key + "' is not an integer");
      return it->get<int>();
    };
    r.exit_code = optional_int("exit_code");
    r.signal = optional_int("signal");
    if (!r.exit_code && !r.signal) bad("exit report: neither an exit code nor a signal");
    r.oom_killed = doc.value("oom_killed", false);
    r.output_truncated = doc.value("output_truncated", false);
    if (auto it = doc.find("exec_error"); it != doc.end() && !it->is_null()) r.exec_error = it->get<std::string>();
    r.cpu_user_ms = doc.value("cpu_user_ms", std::uint64_t{0});
    r.cpu_system_ms = doc.value("cpu_system_ms", std::uint64_t{0});
    r.max_rss_kib = doc.value("max_rss_kib", std::uint64_t{0});
    r.run_ms = doc.value("run_ms", 0.0);
    return r;
  });
}

}  // namespace gatebox::vm
