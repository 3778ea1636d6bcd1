#pragma once
// The sandbox side of the native stack: the process clone() creates. It carries out the
// SetupPlan, becomes the sandbox's init (PID 1), forks and execs the gate, reaps, and
// reports. Between clone and execve it only makes system calls: a failure is written as a
// fixed-size SetupRecord to a close-on-exec pipe, never thrown.
#include <sys/types.h>

#include <cstdint>

#include "stack/native/plan.hpp"

namespace gatebox {

enum class SetupStage : std::int32_t {
  sync = 1,       // waiting for the parent
  namespaces,     // unshare(cgroup), private propagation
  scratch,        // tmpfs for the overlay's upper layer
  overlay,        // the root overlay
  op,             // plan.ops[op_index]
  op_target,      // resolving plan.ops[op_index]'s target inside the rootfs (symlink, not a dir, …)
  hostname,
  network,
  pivot,
  cwd,
  fork_gate,
  credentials,    // setgroups/setresgid/setresuid/capabilities
  rlimits,
  seccomp,
  exec,           // execve of argv[0] failed: the gate never ran (exit 127/126)
  listener,       // seccomp.report: taking the gate's seccomp listener to the parent
  op_source,      // plan.ops[op_index]'s source is no longer the file checked against the policy
};

struct SetupRecord {
  std::int32_t stage = 0;
  std::int32_t op_index = -1;
  std::int32_t err = 0;
};

// What init sends when the gate has finished: its wait status, then `verdict_len` bytes
// of the verdict file (-1: no file, -2: unsafe or too large).
struct StatusRecord {
  std::int32_t wait_status = 0;
  std::int32_t verdict_len = -1;
};

inline constexpr std::int32_t kVerdictMissing = -1;
inline constexpr std::int32_t kVerdictUnsafe = -2;
inline constexpr std::size_t kVerdictMax = 64 * 1024;

struct ChildChannels {
  int sync_read = -1;     // one byte from the parent: uid maps and cgroup are in place
  int setup_write = -1;   // SetupRecords; EOF once the gate has exec'd
  int status_write = -1;  // StatusRecord (+ verdict file)
  int stdout_write = -1;
  int stderr_write = -1;
  int notify_write = -1;  // seccomp.report: init sends the gate's seccomp listener here (SCM_RIGHTS)
};

const char* stage_name(SetupStage stage);

// Whether a MountOp that failed with `err` is skipped: only a hardening step (masking or
// making read-only a /proc entry) whose target this kernel lacks (ENOENT). Anything else
// (ENOTDIR from a wrong kind, EPERM from a remount, …) ends set-up with exit 70.
bool op_failure_skipped(const MountOp& op, int err);

// A detached copy (open_tree, recursive) of the mount tree at `source_fd`, with nosuid,
// nodev and, if `readonly`, read-only set on every mount in it at once (mount_setattr with
// AT_RECURSIVE: a remount would reach only the top, and leave a tmpfs mounted below the
// source writable). Its descriptor, or -errno; a kernel before 5.12 fails with ENOSYS, never
// a weaker mount. System calls only: the child uses it, and the parent for root's user
// namespace (native_stack.cpp).
int clone_mount_flagged(int source_fd, bool readonly);

// In init, after the gate has exited (no allocation: it runs between clone and _exit).
// Drops init for good to run.user's uid and gid, no groups and no capabilities, then reads
// plan.verdict_file (an absolute path from "/", no symlinks followed) into `buf` (`size`
// should be kVerdictMax + 1). Returns its length, kVerdictMissing or kVerdictUnsafe (not a
// regular file, larger than kVerdictMax, unreadable by the gate, or the drop failed).
std::int32_t read_verdict_as_gate(const SetupPlan& plan, char* buf, std::size_t size);

[[noreturn]] void run_sandbox_init(const SetupPlan& plan, const ChildChannels& ch, pid_t parent) noexcept;

}  // namespace gatebox
