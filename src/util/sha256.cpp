#include "util/sha256.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "util/fd.hpp"
#include "util/interrupt.hpp"

namespace gatebox {
namespace {

struct CtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_MD_CTX, CtxFree>;

Ctx new_ctx() {
  Ctx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    throw Error(ExitCode::internal, "OpenSSL: cannot initialise SHA-256");
  }
  return ctx;
}

std::string finish(EVP_MD_CTX* ctx) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx, md, &len) != 1) throw Error(ExitCode::internal, "OpenSSL: SHA-256 failed");
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(digits[md[i] >> 4]);
    hex.push_back(digits[md[i] & 0xf]);
  }
  return hex;
}

}  // namespace

std::string sha256_hex(const void* data, std::size_t size) {
  Ctx ctx = new_ctx();
  if (EVP_DigestUpdate(ctx.get(), data, size) != 1) throw Error(ExitCode::internal, "OpenSSL: SHA-256 failed");
  return finish(ctx.get());
}

std::string sha256_fd(int fd, std::string_view what, ExitCode code) {
  Ctx ctx = new_ctx();
  std::vector<unsigned char> buf(1 << 20);
  off_t offset = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf.data(), buf.size(), offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw sys_error("read", what, errno, code);
    }
    if (n == 0) break;
    if (EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<std::size_t>(n)) != 1) {
      throw Error(ExitCode::internal, "OpenSSL: SHA-256 failed");
    }
    offset += n;
    // Hashing a multi-GB image takes seconds: let SIGINT/SIGTERM through meanwhile.
    if (offset % (64 << 20) < n) check_interrupt();
  }
  return finish(ctx.get());
}

std::string sha256_file(const std::filesystem::path& path, ExitCode code) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw sys_error("open", path.string(), errno, code);
  return sha256_fd(fd.get(), path.string(), code);
}

}  // namespace gatebox
