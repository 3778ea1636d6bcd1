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
// (not cached then, so a fixed binary is asked again).
std::string cached_tool_version(const std::string& binary, const std::vector<std::string>& args,
                                const std::function<std::string(std::string_view)>& parse);

}  // namespace gatebox::vm
