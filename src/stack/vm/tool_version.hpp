#pragma once
// The version a VMM binary prints, asked once per binary file (path, inode, size, mtime) and
// kept on disk: `qemu-system-x86_64 --version` takes ~200 ms here, more than a probe may cost.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace gatebox::vm {

// Runs `binary args...` (at most 5 s) and returns parse(output); cached under
// <default cache>/vm/versions/. Empty when the binary does not answer or parse finds nothing
// (not cached then, so a fixed binary is asked again), and when it is not cached and
// `may_run` is false (`gatebox run --dry-run` runs nothing).
std::string cached_tool_version(const std::string& binary, const std::vector<std::string>& args,
                                const std::function<std::string(std::string_view)>& parse, bool may_run);
// The "<binary> <version>" detail of a VMM's probe; says what would be asked when it was not.
std::string tool_version_detail(const std::string& binary, const std::string& version, bool may_run);

}  // namespace gatebox::vm
