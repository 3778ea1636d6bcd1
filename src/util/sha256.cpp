#include "util/sha256.hpp"

// OpenSSL's one-call SHA-256 functions, not the EVP interface: EVP loads OpenSSL 3's
// provider framework on first use and tears it down at exit, which cost about 3 ms of
// every run, more than hashing ever does here. The low-level functions are deprecated
// in OpenSSL 3 but kept, and compute the same digest.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <fcntl.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "util/fd.hpp"
#include "util/interrupt.hpp"

namespace gatebox {
namespace {

SHA256_CTX new_ctx() {
  SHA256_CTX ctx;
  if (SHA256_Init(&ctx) != 1) throw Error(ExitCode::internal, "OpenSSL: cannot initialise SHA-256");
  return ctx;
}

void update(SHA256_CTX& ctx, const void* data, std::size_t size) {
  if (SHA256_Update(&ctx, data, size) != 1) throw Error(ExitCode::internal, "OpenSSL: SHA-256 failed");
}

std::string finish(SHA256_CTX& ctx) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  if (SHA256_Final(md, &ctx) != 1) throw Error(ExitCode::internal, "OpenSSL: SHA-256 failed");
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * SHA256_DIGEST_LENGTH);
  for (unsigned char b : md) {
    hex.push_back(digits[b >> 4]);
    hex.push_back(digits[b & 0xf]);
  }
  return hex;
}

}  // namespace

std::string sha256_hex(const void* data, std::size_t size) {
  SHA256_CTX ctx = new_ctx();
  update(ctx, data, size);
  return finish(ctx);
}

std::string sha256_fd(int fd, std::string_view what, ExitCode code) {
  SHA256_CTX ctx = new_ctx();
  std::vector<unsigned char> buf(1 << 20);
  off_t offset = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf.data(), buf.size(), offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw sys_error("read", what, errno, code);
    }
    if (n == 0) break;
    update(ctx, buf.data(), static_cast<std::size_t>(n));
    offset += n;
    // Hashing a multi-GB image takes seconds: let SIGINT/SIGTERM through meanwhile.
    if (offset % (64 << 20) < n) check_interrupt();
  }
  return finish(ctx);
}

std::string sha256_file(const std::filesystem::path& path, ExitCode code) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw sys_error("open", path.string(), errno, code);
  return sha256_fd(fd.get(), path.string(), code);
}

}  // namespace gatebox
