#include "util/cgroup_files.hpp"

#include <cstdlib>
#include <sstream>
#include <string>

#include "util/fs.hpp"

namespace gatebox {

unsigned long parse_oom_kill_count(std::string_view text) {
  std::istringstream in{std::string(text)};
  for (std::string key, value; in >> key >> value;) {
    if (key == "oom_kill") return std::strtoul(value.c_str(), nullptr, 10);
  }
  return 0;
}

std::optional<unsigned long> read_oom_kills(const std::filesystem::path& dir) {
  for (const char* file : {"memory.events", "memory.oom_control"}) {
    if (const std::optional<std::string> text = read_file(dir / file)) return parse_oom_kill_count(*text);
  }
  return std::nullopt;
}

}  // namespace gatebox
