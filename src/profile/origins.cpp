#include "profile/origins.hpp"

#include <fmt/format.h>

#include "util/error.hpp"

namespace gatebox {

void ValueOrigins::mark(const toml::node& node, const std::string& option) {
  labels_[&node] = option;
  if (const toml::table* t = node.as_table()) {
    for (auto&& [key, child] : *t) mark(child, option);
  } else if (const toml::array* a = node.as_array()) {
    for (const toml::node& child : *a) mark(child, option);
  }
}

std::string ValueOrigins::position(const toml::node* node) const {
  // Nodes gatebox created itself (an implicit table) have no source: the file's start.
  if (node == nullptr || !node->source().path || node->source().begin.line == 0) {
    return fmt::format("{}:1:1", file_);
  }
  const toml::source_position& at = node->source().begin;
  return fmt::format("{}:{}:{}", file_, at.line, at.column);
}

std::string ValueOrigins::where(const toml::node& node) const {
  if (auto it = labels_.find(&node); it != labels_.end()) return it->second;
  return position(&node);
}

void ValueOrigins::fail(const toml::node& node, std::string_view message) const {
  if (auto it = labels_.find(&node); it != labels_.end()) {
    throw make_error(ExitCode::usage, "{}: {}", it->second, message);
  }
  throw make_error(ExitCode::bad_input, "{}: {}", position(&node), message);
}

void ValueOrigins::fail_in_file(const toml::node* table, std::string_view message) const {
  if (table != nullptr && from_option(*table)) table = nullptr;
  throw make_error(ExitCode::bad_input, "{}: {}", position(table), message);
}

}  // namespace gatebox
