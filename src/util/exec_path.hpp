#pragma once
// The PATH search of a gate's argv[0], done before the sandbox starts (native stack) or by
// the VM agent before execve: the same search everywhere, so every stack reports the same.
// No dependency beyond the standard library: the static guest agent compiles it too.
#include <map>
#include <string>
#include <vector>

namespace gatebox {

// argv[0] as is when it holds a '/', else each PATH entry of `env` (default
// /usr/local/bin:/usr/bin:/bin) joined with it, an empty entry meaning ".".
std::vector<std::string> exec_candidates(const std::string& argv0, const std::map<std::string, std::string>& env);

}  // namespace gatebox
