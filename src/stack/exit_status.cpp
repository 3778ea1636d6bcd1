#include "stack/exit_status.hpp"

namespace gatebox {

void apply_exit_status(RunOutcome& outcome, long long code) {
  if (code > 128 && code <= 128 + 64) {
    outcome.signal = static_cast<int>(code - 128);
  } else {
    outcome.exit_code = static_cast<int>(code);
  }
}

std::optional<int> exec_failure_code(std::string_view message) {
  const auto has = [&](std::string_view s) { return message.find(s) != std::string_view::npos; };
  if (!has("exec:") && !has("executable file not found")) return std::nullopt;
  if (has("permission denied")) return 126;
  if (has("no such file or directory") || has("executable file not found")) return 127;
  return std::nullopt;
}

}  // namespace gatebox
