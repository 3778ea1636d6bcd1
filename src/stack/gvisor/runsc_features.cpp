#include "stack/gvisor/runsc_features.hpp"

#include <algorithm>
#include <sstream>

namespace gatebox {
namespace {

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t.");
  if (b == std::string_view::npos) return "";
  const auto e = s.find_last_not_of(" \t.");
  return std::string(s.substr(b, e - b + 1));
}

// The description of a flag: the indented lines after "  -name ..." up to the next flag.
std::string flag_description(const std::vector<std::string>& lines, std::size_t at) {
  std::string text;
  for (std::size_t i = at + 1; i < lines.size(); ++i) {
    const auto first = lines[i].find_first_not_of(" \t");
    if (first == std::string::npos || first == 0 || lines[i][first] == '-') break;
    text += lines[i].substr(first) + " ";
  }
  return text;
}

// "specifies which platform to use: ptrace (default), kvm." -> {ptrace, kvm}
std::vector<std::string> parse_platform_list(std::string_view description) {
  std::vector<std::string> out;
  const auto colon = description.find(':');
  if (colon == std::string_view::npos) return out;
  std::string_view list = description.substr(colon + 1);
  // The list ends at the first "." or "(default ..." after the names.
  std::stringstream ss{std::string(list)};
  std::string item;
  while (std::getline(ss, item, ',')) {
    auto paren = item.find('(');
    if (paren != std::string::npos) item.erase(paren);
    const std::string name = trim(item);
    if (name.empty() || name.find(' ') != std::string::npos) break;
    out.push_back(name);
    if (item.find('.') != std::string::npos) break;
  }
  return out;
}

}  // namespace

bool RunscFeatures::has_platform(std::string_view name) const {
  return std::find(platforms.begin(), platforms.end(), name) != platforms.end();
}

RunscFeatures parse_runsc_flags(std::string_view flags_text) {
  RunscFeatures f;
  std::vector<std::string> lines;
  std::stringstream ss{std::string(flags_text)};
  for (std::string line; std::getline(ss, line);) lines.push_back(line);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    const auto dash = line.find_first_not_of(' ');
    if (dash == std::string_view::npos || line[dash] != '-') continue;
    std::string_view name = line.substr(dash);
    while (!name.empty() && name.front() == '-') name.remove_prefix(1);
    name = name.substr(0, name.find(' '));
    if (name == "oci-seccomp") f.oci_seccomp = true;
    if (name == "overlay2") f.overlay2 = true;
    if (name == "overlay") f.overlay = true;
    if (name == "ignore-cgroups") f.ignore_cgroups = true;
    if (name == "rootless") f.rootless = true;
    if (name == "platform") f.platforms = parse_platform_list(flag_description(lines, i));
  }
  return f;
}

std::string parse_runsc_version(std::string_view version_text) {
  constexpr std::string_view key = "runsc version ";
  const auto at = version_text.find(key);
  if (at == std::string_view::npos) return "";
  std::string_view rest = version_text.substr(at + key.size());
  return std::string(rest.substr(0, rest.find_first_of(" \n")));
}

std::string choose_platform(std::string_view requested, bool kvm_usable, const RunscFeatures& features) {
  if (requested != "auto") return std::string(requested);
  if (kvm_usable && features.has_platform("kvm")) return "kvm";
  if (features.has_platform("systrap")) return "systrap";
  return "ptrace";
}

}  // namespace gatebox
