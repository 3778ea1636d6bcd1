#include <fcntl.h>
#include <seccomp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/seccomp.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"
#include "util/sha256.hpp"

namespace gatebox {
namespace {

// Everything the program depends on, in one text: the rules, the action, and the
// versions of the code that turns them into BPF.
std::string policy_key(const SeccompPolicy& policy) {
  const scmp_version* v = seccomp_version();
  std::string text = fmt::format("gatebox {} libseccomp {}.{}.{}\n{} {} notify={}\n", GATEBOX_VERSION, v->major,
                                 v->minor, v->micro, policy.profile, static_cast<int>(policy.action), policy.notify);
  for (const SyscallRule& r : policy.rules) {
    text += fmt::format("{} {}", r.name, r.errno_ret);
    for (const ArgCond& a : r.args) {
      text += fmt::format(" {}:{}:{}:{}", a.index, static_cast<int>(a.op), a.value, a.value_two);
    }
    text += '\n';
  }
  return sha256_hex(text);
}

std::vector<sock_filter> read_program(const std::filesystem::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  struct stat st;
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0 ||
      st.st_size % static_cast<off_t>(sizeof(sock_filter)) != 0 || st.st_size > 4096 * 8) {
    return {};
  }
  std::vector<sock_filter> prog(static_cast<std::size_t>(st.st_size) / sizeof(sock_filter));
  const std::size_t bytes = prog.size() * sizeof(sock_filter);
  if (::read(fd.get(), prog.data(), bytes) != static_cast<ssize_t>(bytes)) return {};
  return prog;
}

// Best effort: a cache that cannot be written only costs the next run the compile again.
void write_program(const std::filesystem::path& dir, const std::filesystem::path& path,
                   const std::vector<sock_filter>& prog) {
  try {
    make_dirs(dir);
  } catch (const Error&) {
    return;
  }
  const std::string tmp = fmt::format("{}.{}.tmp", path.string(), ::getpid());
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return;
  const std::size_t bytes = prog.size() * sizeof(sock_filter);
  const bool ok = ::write(fd.get(), prog.data(), bytes) == static_cast<ssize_t>(bytes);
  fd.reset();
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) ::unlink(tmp.c_str());
}

}  // namespace

std::vector<sock_filter> compile_seccomp_bpf_cached(const SeccompPolicy& policy,
                                                    const std::filesystem::path& cache_dir) {
  if (policy.unconfined) return {};
  const std::filesystem::path dir = cache_dir / "seccomp";
  const std::filesystem::path path = dir / (policy_key(policy) + ".bpf");
  std::vector<sock_filter> prog = read_program(path);
  if (!prog.empty()) return prog;
  prog = compile_seccomp_bpf(policy);
  write_program(dir, path, prog);
  return prog;
}

}  // namespace gatebox
