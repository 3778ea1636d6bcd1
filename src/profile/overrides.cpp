#include "profile/overrides.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "profile/table_reader.hpp"
#include "profile/toml_parse.hpp"
#include "util/error.hpp"

namespace gatebox {
namespace {

[[noreturn]] void usage(std::string_view option, std::string_view message) {
  throw make_error(ExitCode::usage, "{}: {}", option, message);
}

// The table at `key`, created (as the option's) when absent. Null when something else is
// there: the validator then reports the profile's own mistake.
toml::table* child_table(toml::table& parent, std::string_view key, ValueOrigins& origins, const std::string& option) {
  if (toml::node* n = parent.get(key)) return n->as_table();
  auto [it, inserted] = parent.insert(key, toml::table{});
  origins.mark(it->second, option);
  return it->second.as_table();
}

template <typename Value>
void put(toml::table* table, std::string_view key, Value&& value, ValueOrigins& origins, const std::string& option) {
  if (table == nullptr) return;
  auto [it, inserted] = table->insert_or_assign(key, std::forward<Value>(value));
  origins.mark(it->second, option);
}

void apply_set(toml::table& root, const std::string& arg, ValueOrigins& origins) {
  const std::string option = "--set " + arg;
  const std::size_t eq = arg.find('=');
  if (eq == std::string::npos) usage(option, "expected KEY=VALUE, e.g. --set limits.pids=64");
  const std::string_view key = std::string_view(arg).substr(0, eq);
  const std::string_view text = std::string_view(arg).substr(eq + 1);

  std::vector<std::string_view> parts;
  for (std::size_t pos = 0;;) {
    std::size_t dot = key.find('.', pos);
    parts.push_back(key.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos));
    if (!is_bare_key(parts.back())) usage(option, fmt::format("'{}' is not a dotted key such as limits.pids", key));
    if (dot == std::string_view::npos) break;
    pos = dot + 1;
  }

  toml::table parsed;
  try {
    parsed = parse_toml(fmt::format("v = {}", text), option);
  } catch (const toml::parse_error& e) {
    usage(option, fmt::format("'{}' is not a TOML value ({}); strings need quotes, e.g. --set run.cwd='\"/src\"'",
                              text, e.description()));
  }
  if (parsed.size() != 1 || parsed.get("v") == nullptr) usage(option, "VALUE must be one TOML value");

  toml::table* table = &root;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    table = child_table(*table, parts[i], origins, option);
    if (table == nullptr) {
      usage(option, fmt::format("'{}' is not a table, so it has no key '{}'", key.substr(0, static_cast<std::size_t>(parts[i].data() + parts[i].size() - key.data())), parts[i + 1]));
    }
  }
  put(table, parts.back(), std::move(*parsed.get("v")), origins, option);
}

void apply_mount(toml::table& root, const std::string& arg, ValueOrigins& origins) {
  const std::string option = "--mount " + arg;
  const std::size_t colon = arg.find(':');
  std::string target = colon == std::string::npos ? "" : arg.substr(colon + 1);
  bool readonly = true;
  if (target.size() >= 3 && (target.ends_with(":ro") || target.ends_with(":rw"))) {
    readonly = target.ends_with(":ro");
    target.resize(target.size() - 3);
  }
  if (colon == 0 || target.empty()) usage(option, "expected SRC:DST[:ro|rw], e.g. --mount .:/src:ro");

  // SRC is typed on the command line, so it is relative to where gatebox was started.
  std::string source = absolute_host_path(arg.substr(0, colon), std::filesystem::current_path()).string();
  toml::node* list = root.get("mount");
  if (list == nullptr) {
    list = &root.insert("mount", toml::array{}).first->second;
    origins.mark(*list, option);
  }
  if (toml::array* a = list->as_array()) {
    a->push_back(toml::table{{"source", source}, {"target", target}, {"readonly", readonly}});
    origins.mark(a->back(), option);
  }
}

void apply_env(toml::table& root, const std::string& arg, ValueOrigins& origins) {
  const std::string option = "--env " + arg;
  const std::size_t eq = arg.find('=');
  if (eq == std::string::npos || eq == 0) usage(option, "expected NAME=VALUE, e.g. --env CI=1");
  toml::table* run = child_table(root, "run", origins, option);
  toml::table* env = run == nullptr ? nullptr : child_table(*run, "env", origins, option);
  put(env, arg.substr(0, eq), arg.substr(eq + 1), origins, option);
}

// A profile is UTF-8 text (TOML); an override that is not could not be printed back
// (`validate --print`) or shown faithfully, so it is refused like any other bad option.
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    std::uint32_t cp = len == 1 ? c : c & (0x7f >> len);
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and values past U+10FFFF are not UTF-8.
    static constexpr std::uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[len] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return false;
    i += len;
  }
  return true;
}

void require_utf8(const std::string& value, std::string_view option) {
  if (!valid_utf8(value)) {
    throw make_error(ExitCode::usage, "{}: is not valid UTF-8 text; profiles (TOML) hold UTF-8 only", option);
  }
}

}  // namespace

void apply_overrides(toml::table& root, const Overrides& o, ValueOrigins& origins) {
  for (const std::string& s : o.set) require_utf8(s, "--set");
  for (const std::string& m : o.mounts) require_utf8(m, "--mount");
  for (const std::string& e : o.env) require_utf8(e, "--env");
  require_utf8(o.timeout, "--timeout");
  require_utf8(o.stack, "--stack");
  for (const std::string& a : o.argv) require_utf8(a, "the command after --");
  // Generic --set first, so that the dedicated options, being more specific, win.
  for (const std::string& s : o.set) apply_set(root, s, origins);
  for (const std::string& m : o.mounts) apply_mount(root, m, origins);
  for (const std::string& e : o.env) apply_env(root, e, origins);
  if (!o.timeout.empty()) {
    const std::string option = "--timeout " + o.timeout;
    put(child_table(root, "limits", origins, option), "timeout", o.timeout, origins, option);
  }
  if (!o.stack.empty()) {
    const std::string option = "--stack " + o.stack;
    put(child_table(root, "stack", origins, option), "kind", o.stack, origins, option);
  }
  if (!o.argv.empty()) {
    const std::string option = "the command after --";
    toml::array argv;
    for (const std::string& a : o.argv) argv.push_back(a);
    put(child_table(root, "run", origins, option), "argv", std::move(argv), origins, option);
  }
}

}  // namespace gatebox
