#include "util/sandbox_path.hpp"

#include <fmt/format.h>

namespace gatebox {
namespace {

std::optional<std::string> refuse(std::string* problem, std::string text) {
  if (problem != nullptr) *problem = std::move(text);
  return std::nullopt;
}

}  // namespace

std::optional<std::string> normalize_sandbox_path(std::string_view path, std::string* problem) {
  if (path.empty()) return refuse(problem, "is empty; write an absolute path such as \"/src\"");
  for (unsigned char c : path) {
    if (c < 0x20 || c == 0x7f) return refuse(problem, "contains a control character");
  }
  if (path.front() != '/') {
    return refuse(problem, fmt::format("'{}' is not an absolute path; write e.g. \"/{}\"", path, path));
  }
  std::string out;
  std::size_t pos = 0;
  while (pos < path.size()) {
    std::size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(pos, end - pos);
    pos = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") return refuse(problem, fmt::format("'{}' contains '..'; write the path without it", path));
    out.push_back('/');
    out.append(part.data(), part.size());
  }
  if (out.empty()) out.push_back('/');
  return out;
}

}  // namespace gatebox
