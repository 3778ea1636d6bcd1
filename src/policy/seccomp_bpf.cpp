// Compiling a SeccompPolicy to a classic BPF program with libseccomp. The program is exported,
// not loaded: the sandbox child installs it itself right before execve, without allocating.
#include <errno.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "policy/seccomp.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"

namespace gatebox {
namespace {

// The kernel refuses longer classic BPF programs (BPF_MAXINSNS).
constexpr std::size_t max_instructions = 4096;

struct ContextDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Context = std::unique_ptr<void, ContextDeleter>;

Error seccomp_error(std::string_view call, std::string_view what, int rc) {
  return make_error(ExitCode::internal, "{} ({}): {}", call, what, std::strerror(-rc));
}

std::uint32_t default_action(SeccompAction action, bool notify) {
  // The listener answers as `action` would (EPERM, continue, or kill), after counting the call.
  if (notify) return SCMP_ACT_NOTIFY;
  switch (action) {
    case SeccompAction::errno_eperm: return SCMP_ACT_ERRNO(EPERM);
    case SeccompAction::kill: return SCMP_ACT_KILL_PROCESS;
    case SeccompAction::log: return SCMP_ACT_LOG;
  }
  return SCMP_ACT_ERRNO(EPERM);
}

scmp_compare compare_op(ArgCond::Op op) {
  switch (op) {
    case ArgCond::Op::eq: return SCMP_CMP_EQ;
    case ArgCond::Op::ne: return SCMP_CMP_NE;
    case ArgCond::Op::masked_eq: return SCMP_CMP_MASKED_EQ;
    case ArgCond::Op::lt: return SCMP_CMP_LT;
    case ArgCond::Op::le: return SCMP_CMP_LE;
    case ArgCond::Op::gt: return SCMP_CMP_GT;
    case ArgCond::Op::ge: return SCMP_CMP_GE;
  }
  return SCMP_CMP_EQ;
}

void add_rule(scmp_filter_ctx ctx, const SyscallRule& rule, int nr, std::uint32_t action) {
  std::vector<scmp_arg_cmp> conditions;
  for (const auto& arg : rule.args) {
    if (arg.index > 5) {
      throw make_error(ExitCode::internal, "seccomp rule for '{}': argument index {} is not 0..5", rule.name,
                       arg.index);
    }
    // libseccomp's masked_eq takes the mask first and the expected value second, as ArgCond does.
    conditions.push_back({arg.index, compare_op(arg.op), arg.value, arg.value_two});
  }
  int rc = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(conditions.size()), conditions.data());
  if (rc < 0) throw seccomp_error("seccomp_rule_add_array", rule.name, rc);
}

std::vector<sock_filter> export_program(scmp_filter_ctx ctx) {
  Fd fd(memfd_create("gatebox-seccomp", MFD_CLOEXEC));
  if (!fd) throw sys_error("memfd_create", "gatebox-seccomp");
  int rc = seccomp_export_bpf(ctx, fd.get());
  if (rc < 0) throw seccomp_error("seccomp_export_bpf", "memfd", rc);

  struct stat st {};
  if (fstat(fd.get(), &st) != 0) throw sys_error("fstat", "seccomp memfd");
  auto size = static_cast<std::size_t>(st.st_size);
  if (size == 0 || size % sizeof(sock_filter) != 0) {
    throw make_error(ExitCode::internal, "seccomp_export_bpf wrote {} bytes, not a whole BPF program", size);
  }
  std::vector<sock_filter> program(size / sizeof(sock_filter));
  if (program.size() > max_instructions) {
    throw make_error(ExitCode::internal,
                     "the seccomp filter has {} instructions, more than the kernel's limit of {}; deny fewer "
                     "calls by argument or use a smaller profile",
                     program.size(), max_instructions);
  }
  auto* bytes = reinterpret_cast<char*>(program.data());
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = pread(fd.get(), bytes + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw sys_error("pread", "seccomp memfd");
    done += static_cast<std::size_t>(n);
  }
  return program;
}

}  // namespace

std::vector<sock_filter> compile_seccomp_bpf(const SeccompPolicy& policy) {
  if (policy.unconfined) return {};

  const std::uint32_t deny = default_action(policy.action, policy.notify);
  Context ctx(seccomp_init(deny));
  if (!ctx) throw make_error(ExitCode::internal, "seccomp_init failed (is the kernel built with seccomp filters?)");

  // seccomp_init gives a filter for the native ABI only. Every other ABI reaching it (i386
  // through int 0x80, or an x32 number, which libseccomp's x86_64 filter sends to the same
  // bad-arch action) kills the process: the rules below were written for x86_64 numbers and
  // would mean something else there.
  int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  if (rc < 0) throw seccomp_error("seccomp_attr_set", "SCMP_FLTATR_ACT_BADARCH", rc);
  // The sandbox child sets no_new_privs itself, at the point of its choosing.
  rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0);
  if (rc < 0) throw seccomp_error("seccomp_attr_set", "SCMP_FLTATR_CTL_NNP", rc);
  // A binary tree of syscall numbers instead of a linear scan: several hundred rules otherwise
  // cost a comparison each on every call the gate makes.
  rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);
  if (rc < 0) throw seccomp_error("seccomp_attr_set", "SCMP_FLTATR_CTL_OPTIMIZE", rc);

  for (const auto& rule : policy.rules) {
    // Names x86_64 lacks (chown32, mmap2, ...) come from Docker's multi-architecture list;
    // no x86_64 process can make those calls, so there is nothing to allow.
    auto nr = x86_64_syscall_number(rule.name);
    if (!nr) continue;
    std::uint32_t action = rule.errno_ret != 0 ? SCMP_ACT_ERRNO(static_cast<std::uint32_t>(rule.errno_ret))
                                               : SCMP_ACT_ALLOW;
    // A rule that does what the default does changes nothing, and libseccomp refuses it.
    if (action == deny) continue;
    add_rule(ctx.get(), rule, *nr, action);
  }
  return export_program(ctx.get());
}

}  // namespace gatebox
