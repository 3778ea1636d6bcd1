#include "profile/table_reader.hpp"

#include "util/sandbox_path.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace gatebox {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Optimal string alignment distance: Levenshtein plus adjacent transpositions, the
// commonest typo ("memroy").
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string joined(std::initializer_list<std::string_view> items) {
  return fmt::format("{}", fmt::join(items, ", "));
}

}  // namespace

bool is_bare_key(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

std::string_view type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

std::optional<std::string_view> closest_match(std::string_view word, std::initializer_list<std::string_view> candidates) {
  const std::string w = lower(word);
  const std::size_t limit = w.size() <= 4 ? 1 : 2;
  std::optional<std::string_view> best;
  std::size_t best_distance = limit + 1;
  for (std::string_view c : candidates) {
    std::size_t d = edit_distance(w, lower(c));
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

std::filesystem::path absolute_host_path(const std::filesystem::path& path, const std::filesystem::path& base) {
  std::filesystem::path p = (path.is_absolute() ? path : base / path).lexically_normal();
  if (!p.has_filename() && p != p.root_path()) p = p.parent_path();
  return p;
}

std::string TableReader::key_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
}

const toml::node* TableReader::node(std::string_view key) const {
  return table_ == nullptr ? nullptr : table_->get(key);
}

bool TableReader::from_option(std::string_view key) const {
  const toml::node* n = node(key);
  return n != nullptr && origins_->from_option(*n);
}

std::string TableReader::where(std::string_view key) const {
  const toml::node* n = node(key);
  return n == nullptr ? origins_->file() : origins_->where(*n);
}

void TableReader::only(std::initializer_list<std::string_view> known) const {
  if (table_ == nullptr) return;
  for (auto&& [key, value] : *table_) {
    if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
    if (auto guess = closest_match(key.str(), known)) {
      fail(value, key_path(key.str()), fmt::format("unknown key; did you mean '{}'?", *guess));
    }
    fail(value, key_path(key.str()), fmt::format("unknown key; accepted here: {}", joined(known)));
  }
}

TableReader TableReader::sub(std::string_view key) const {
  if (node(key) == nullptr) return TableReader(nullptr, key_path(key), *origins_);
  return TableReader(expect(key, toml::node_type::table, "a table").as_table(), key_path(key), *origins_);
}

void TableReader::fail(const toml::node& node, std::string_view what, std::string_view message) const {
  origins_->fail(node, fmt::format("{}: {}", what, message));
}

void TableReader::fail(std::string_view key, std::string_view message) const {
  fail(*node(key), key_path(key), message);
}

void TableReader::missing(std::string_view key, std::string_view hint) const {
  origins_->fail_in_file(table_, fmt::format("{}: required key is missing; {}", key_path(key), hint));
}

const toml::node& TableReader::expect(std::string_view key, toml::node_type type, std::string_view article_name) const {
  const toml::node& n = *node(key);
  if (n.type() != type) fail(key, fmt::format("expected {}, found {}", article_name, type_name(n.type())));
  return n;
}

std::optional<std::string> TableReader::string(std::string_view key, const TextCheck& check) const {
  if (node(key) == nullptr) return std::nullopt;
  std::string value = expect(key, toml::node_type::string, "a string").as_string()->get();
  if (check) {
    if (std::string problem = check(value); !problem.empty()) fail(key, problem);
  }
  return value;
}

std::optional<bool> TableReader::boolean(std::string_view key) const {
  if (node(key) == nullptr) return std::nullopt;
  return expect(key, toml::node_type::boolean, "a boolean (true or false)").as_boolean()->get();
}

std::optional<std::int64_t> TableReader::integer(std::string_view key, std::int64_t min, std::int64_t max) const {
  if (node(key) == nullptr) return std::nullopt;
  std::int64_t v = expect(key, toml::node_type::integer, "an integer").as_integer()->get();
  if (v < min || v > max) fail(key, fmt::format("{} is out of range; accepted: {} to {}", v, min, max));
  return v;
}

std::optional<double> TableReader::number(std::string_view key, double min_exclusive, double max) const {
  const toml::node* n = node(key);
  if (n == nullptr) return std::nullopt;
  double v = 0;
  if (const auto* i = n->as_integer()) {
    v = static_cast<double>(i->get());
  } else if (const auto* f = n->as_floating_point()) {
    v = f->get();
  } else {
    fail(key, fmt::format("expected a number, found {}", type_name(n->type())));
  }
  if (!(std::isfinite(v) && v > min_exclusive && v <= max)) {
    fail(key, fmt::format("{} is out of range; accepted: more than {} and at most {}", v, min_exclusive, max));
  }
  return v;
}

std::optional<std::uint64_t> TableReader::size(std::string_view key, std::uint64_t min) const {
  const toml::node* n = node(key);
  if (n == nullptr) return std::nullopt;
  std::uint64_t bytes = 0;
  if (const auto* s = n->as_string()) {
    auto parsed = parse_size(s->get());
    if (!parsed) fail(key, fmt::format("'{}' is not a size; write e.g. {}", s->get(), size_example));
    bytes = *parsed;
  } else if (const auto* i = n->as_integer()) {
    if (i->get() < 0) fail(key, fmt::format("{} is negative; write e.g. {}", i->get(), size_example));
    bytes = static_cast<std::uint64_t>(i->get());
  } else {
    fail(key, fmt::format("expected a size such as \"512MiB\" or an integer of bytes, found {}", type_name(n->type())));
  }
  if (bytes < min) fail(key, fmt::format("{} is too small; the minimum is {}", format_size(bytes), format_size(min)));
  return bytes;
}

std::optional<Duration> TableReader::duration(std::string_view key, Duration min) const {
  const toml::node* n = node(key);
  if (n == nullptr) return std::nullopt;
  Duration d{};
  if (const auto* s = n->as_string()) {
    auto parsed = parse_duration(s->get());
    if (!parsed) fail(key, fmt::format("'{}' is not a duration; write e.g. {}", s->get(), duration_example));
    d = *parsed;
  } else if (const auto* i = n->as_integer()) {
    if (i->get() < 0) fail(key, fmt::format("{} is negative; write e.g. {}", i->get(), duration_example));
    if (i->get() > std::numeric_limits<std::int64_t>::max() / 1000) fail(key, fmt::format("{} seconds is too long", i->get()));
    d = std::chrono::seconds(i->get());
  } else {
    fail(key, fmt::format("expected a duration such as \"30s\" or an integer of seconds, found {}", type_name(n->type())));
  }
  if (d < min) fail(key, fmt::format("{} is too short; the minimum is {}", format_duration(d), format_duration(min)));
  return d;
}

std::optional<std::string> TableReader::choice(std::string_view key, std::initializer_list<std::string_view> accepted) const {
  auto value = string(key);
  if (!value || std::find(accepted.begin(), accepted.end(), *value) != accepted.end()) return value;
  if (auto guess = closest_match(*value, accepted)) {
    fail(key, fmt::format("'{}' is not accepted; did you mean '{}'? (accepted: {})", *value, *guess, joined(accepted)));
  }
  fail(key, fmt::format("'{}' is not accepted; accepted: {}", *value, joined(accepted)));
}

const toml::array* TableReader::array(std::string_view key) const {
  if (node(key) == nullptr) return nullptr;
  return expect(key, toml::node_type::array, "an array").as_array();
}

std::optional<std::vector<std::string>> TableReader::strings(std::string_view key, const TextCheck& check) const {
  const toml::array* a = array(key);
  if (a == nullptr) return std::nullopt;
  std::vector<std::string> out;
  for (std::size_t i = 0; i < a->size(); ++i) {
    const toml::node& element = *a->get(i);
    std::string what = fmt::format("{}[{}]", key_path(key), i);
    const auto* s = element.as_string();
    if (s == nullptr) fail(element, what, fmt::format("expected a string, found {}", type_name(element.type())));
    if (check) {
      if (std::string problem = check(s->get()); !problem.empty()) fail(element, what, problem);
    }
    out.push_back(s->get());
  }
  return out;
}

std::optional<std::vector<int>> TableReader::integers(std::string_view key, int min, int max) const {
  const toml::array* a = array(key);
  if (a == nullptr) return std::nullopt;
  std::vector<int> out;
  for (std::size_t i = 0; i < a->size(); ++i) {
    const toml::node& element = *a->get(i);
    std::string what = fmt::format("{}[{}]", key_path(key), i);
    const auto* v = element.as_integer();
    if (v == nullptr) fail(element, what, fmt::format("expected an integer, found {}", type_name(element.type())));
    if (v->get() < min || v->get() > max) {
      fail(element, what, fmt::format("{} is out of range; accepted: {} to {}", v->get(), min, max));
    }
    out.push_back(static_cast<int>(v->get()));
  }
  return out;
}

std::optional<std::string> TableReader::sandbox_path(std::string_view key, bool allow_empty) const {
  auto value = string(key);
  if (!value || (value->empty() && allow_empty)) return value;
  std::string problem;
  auto normal = normalize_sandbox_path(*value, &problem);
  if (!normal) fail(key, problem);
  return normal;
}

std::optional<std::filesystem::path> TableReader::host_path(std::string_view key, const std::filesystem::path& base) const {
  auto value = string(key, [](std::string_view text) -> std::string {
    if (text.empty()) return "must not be empty; write a path on the host, relative to the profile's folder";
    if (text.find('\0') != std::string_view::npos) return "contains a NUL character";
    return {};
  });
  if (!value) return std::nullopt;
  return absolute_host_path(*value, base);
}

}  // namespace gatebox
