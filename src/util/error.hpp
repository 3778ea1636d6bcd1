#pragma once
// One error type for the whole program: thrown where a problem is detected, caught once
// in main, printed as one line, and turned into the exit code of docs/ARCHITECTURE.md §6.1.
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace gatebox {

enum class ExitCode : int {
  pass = 0,
  fail = 1,
  error = 2,
  usage = 64,        // bad command line
  bad_input = 65,    // invalid profile, unsafe image, digest mismatch, policy refusal
  unavailable = 69,  // the selected stack cannot run on this host
  internal = 70,     // sandbox set-up failed; the gate never started
  sigint = 130,
  sigterm = 143,
};

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, std::string message) : std::runtime_error(std::move(message)), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

// Errors a user can act on. `fmt` style: usage_error("unknown stack '{}'", name).
template <typename... Args>
Error make_error(ExitCode code, fmt::format_string<Args...> f, Args&&... args) {
  return Error(code, fmt::format(f, std::forward<Args>(args)...));
}

// A failed system call: names the call, the object (usually a path) and errno's text.
// Exit 70 unless the caller says otherwise.
Error sys_error(std::string_view call, std::string_view what, int err, ExitCode code = ExitCode::internal);
// Same, with errno read now.
Error sys_error(std::string_view call, std::string_view what);

}  // namespace gatebox
