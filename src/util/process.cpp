#include "util/process.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <random>

#include <fmt/format.h>

namespace gatebox {

std::string make_run_id() {
  std::random_device rd;
  return fmt::format("{}-{:08x}", ::getpid(), rd());
}

bool process_alive(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

}  // namespace gatebox
