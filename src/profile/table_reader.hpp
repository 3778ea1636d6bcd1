#pragma once
// Strict, typed reading of one table of a profile. A getter returns nullopt when the key
// is absent and throws Error when the value is wrong, naming the key as a dotted path
// ("limits.pids"), where it came from, and what would be accepted.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "profile/origins.hpp"
#include "util/units.hpp"

namespace gatebox {

// Returns a message when `text` is unacceptable, or an empty string.
using TextCheck = std::function<std::string(std::string_view text)>;

class TableReader {
 public:
  // `table` may be null (the table is absent); every getter then returns nullopt.
  // `path` is the table's dotted name ("" for the root, "stack.docker", "mount[0]").
  TableReader(const toml::table* table, std::string path, const ValueOrigins& origins)
      : table_(table), path_(std::move(path)), origins_(&origins) {}

  const toml::table* table() const { return table_; }
  const ValueOrigins& origins() const { return *origins_; }
  std::string key_path(std::string_view key) const;

  // Unknown keys are errors, with a suggestion when one of `known` is close.
  void only(std::initializer_list<std::string_view> known) const;
  const toml::node* node(std::string_view key) const;
  // Whether a command-line option (--set, --stack, ...) put the key there; false when absent.
  bool from_option(std::string_view key) const;
  // "FILE:LINE:COL" of the key's value, or the option that set it.
  std::string where(std::string_view key) const;
  // A sub-table; a reader of nothing when it is absent.
  TableReader sub(std::string_view key) const;

  [[noreturn]] void fail(const toml::node& node, std::string_view what, std::string_view message) const;
  [[noreturn]] void fail(std::string_view key, std::string_view message) const;
  // A required key is absent: blamed on the table (or the file's start), never on an option.
  [[noreturn]] void missing(std::string_view key, std::string_view hint) const;

  std::optional<std::string> string(std::string_view key, const TextCheck& check = {}) const;
  std::optional<bool> boolean(std::string_view key) const;
  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max) const;
  // An integer or a float; must be finite and in (min_exclusive, max].
  std::optional<double> number(std::string_view key, double min_exclusive, double max) const;
  // A size string ("512MiB") or an integer of bytes; at least `min`.
  std::optional<std::uint64_t> size(std::string_view key, std::uint64_t min) const;
  // A duration string ("30s") or an integer of seconds; at least `min`.
  std::optional<Duration> duration(std::string_view key, Duration min) const;
  std::optional<std::string> choice(std::string_view key, std::initializer_list<std::string_view> accepted) const;
  std::optional<std::vector<std::string>> strings(std::string_view key, const TextCheck& check = {}) const;
  std::optional<std::vector<int>> integers(std::string_view key, int min, int max) const;
  // A path inside the sandbox: absolute, no "..", returned normalised ("/a//b/" -> "/a/b").
  std::optional<std::string> sandbox_path(std::string_view key, bool allow_empty) const;
  // A path on the host, relative to `base` unless absolute; returned absolute and normalised.
  std::optional<std::filesystem::path> host_path(std::string_view key, const std::filesystem::path& base) const;
  const toml::array* array(std::string_view key) const;

 private:
  const toml::node& expect(std::string_view key, toml::node_type type, std::string_view article_name) const;

  const toml::table* table_;
  std::string path_;
  const ValueOrigins* origins_;
};

// A key TOML accepts without quotes: letters, digits, '_' and '-'.
bool is_bare_key(std::string_view key);
// "a string", "an integer", ...: for "expected X, found Y".
std::string_view type_name(toml::node_type type);
// The candidate closest to `word` by edit distance, if close enough to be a likely typo.
std::optional<std::string_view> closest_match(std::string_view word, std::initializer_list<std::string_view> candidates);
// `path` made absolute against `base`, lexically normalised, without a trailing '/'.
std::filesystem::path absolute_host_path(const std::filesystem::path& path, const std::filesystem::path& base);

}  // namespace gatebox
