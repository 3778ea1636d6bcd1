#pragma once
// Where each value of a profile came from: a position in the profile file, or a
// command-line option that put it there. An error about a value names that origin, and
// the exit code follows it: 65 for the file, 64 (usage) for an option.
#include <map>
#include <string>
#include <string_view>

#include <toml++/toml.h>

namespace gatebox {

class ValueOrigins {
 public:
  explicit ValueOrigins(std::string file) : file_(std::move(file)) {}

  // Records that `node`, and everything inside it, was put there by `option`
  // (e.g. "--set limits.pids=64"). The node must stay where it is (toml++ keeps nodes
  // on the heap, so its address is stable while it sits in its table).
  void mark(const toml::node& node, const std::string& option);
  bool from_option(const toml::node& node) const { return labels_.count(&node) != 0; }
  // Where `node` came from, as a message would name it: "FILE:LINE:COL" or the option.
  std::string where(const toml::node& node) const;

  // Throws Error: "FILE:LINE:COL: message" (65) or "OPTION: message" (64).
  [[noreturn]] void fail(const toml::node& node, std::string_view message) const;
  // A problem of the file as a whole, such as a missing key: always the file's fault,
  // reported at `table` when the file defines it, else at 1:1.
  [[noreturn]] void fail_in_file(const toml::node* table, std::string_view message) const;

  const std::string& file() const { return file_; }

 private:
  std::string position(const toml::node* node) const;

  std::string file_;
  std::map<const toml::node*, std::string> labels_;
};

}  // namespace gatebox
