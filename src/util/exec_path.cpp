#include "util/exec_path.hpp"

#include <string_view>
#include <utility>

namespace gatebox {

std::vector<std::string> exec_candidates(const std::string& argv0, const std::map<std::string, std::string>& env) {
  if (argv0.find('/') != std::string::npos) return {argv0};
  auto it = env.find("PATH");
  const std::string path = it == env.end() ? "/usr/local/bin:/usr/bin:/bin" : it->second;
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string_view dir = std::string_view(path).substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate(dir == "/" ? std::string_view() : dir);
    candidate += '/';
    candidate += argv0;
    out.push_back(std::move(candidate));
    start = end + 1;
  }
  return out;
}

}  // namespace gatebox
