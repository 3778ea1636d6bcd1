#include "util/error.hpp"

#include <cerrno>
#include <cstring>

namespace gatebox {

Error sys_error(std::string_view call, std::string_view what, int err, ExitCode code) {
  if (what.empty()) return Error(code, fmt::format("{}: {}", call, std::strerror(err)));
  return Error(code, fmt::format("{} {}: {}", call, what, std::strerror(err)));
}

Error sys_error(std::string_view call, std::string_view what) { return sys_error(call, what, errno); }

}  // namespace gatebox
