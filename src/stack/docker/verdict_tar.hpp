#pragma once
// The verdict file as GET /containers/{id}/archive returns it: a tar that must hold exactly
// one regular file of at most 64 KiB. Anything else (a symlink the gate planted, a
// directory, several entries, a bigger file) is refused: it is the gate's doing.
#include <string>
#include <string_view>

namespace gatebox {

inline constexpr std::size_t kVerdictFileMax = 64 * 1024;

struct VerdictTar {
  bool ok = false;
  std::string contents;  // when ok
  std::string problem;   // when not: why, for the report
};

VerdictTar read_verdict_tar(std::string_view tar);

}  // namespace gatebox
