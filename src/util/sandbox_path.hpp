#pragma once
// Paths inside the sandbox, as every stage checks them: absolute, no "..", no control
// characters, normalised ("/a/./b//c/" -> "/a/b/c").
#include <optional>
#include <string>
#include <string_view>

namespace gatebox {

// nullopt when the path is not acceptable; `problem` (if given) then says why, in words
// that follow the key's name ("'src' is not an absolute path; write e.g. \"/src\"").
std::optional<std::string> normalize_sandbox_path(std::string_view path, std::string* problem = nullptr);

}  // namespace gatebox
