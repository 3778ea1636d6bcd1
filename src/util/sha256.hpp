#pragma once
// SHA-256 digests as lower-case hex, through OpenSSL's EVP interface.
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "util/error.hpp"

namespace gatebox {

std::string sha256_hex(const void* data, std::size_t size);
inline std::string sha256_hex(std::string_view text) { return sha256_hex(text.data(), text.size()); }
// Digest of everything in `fd` from offset 0 (pread: the file offset is left alone).
// `what` names the file in errors; a read error throws with `code`.
std::string sha256_fd(int fd, std::string_view what, ExitCode code = ExitCode::internal);
std::string sha256_file(const std::filesystem::path& path, ExitCode code = ExitCode::internal);

}  // namespace gatebox
