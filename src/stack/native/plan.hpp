#pragma once
// The native sandbox as data (plan, then execute): everything the child does between
// clone and execve, computed by the parent beforehand, so the child only makes system
// calls — no allocation, no exceptions — and the plan itself can be unit-tested.
#include <linux/filter.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "stack/stack.hpp"
#include "util/command_line.hpp"
#include "util/exec_path.hpp"

namespace gatebox {

enum class OpKind : std::uint8_t {
  mkdir,        // target directory, `mode`
  tmpfs,        // mount a tmpfs on target (created as a directory); `data` = options
  proc,         // mount a fresh procfs on target
  devpts,       // mount a new devpts instance on target
  bind,         // bind `source` (host path) onto target (created as a dir or an empty file)
                // with `source_fd` (a profile mount): recursively, with `flags` and read-only
                // set on every mount of the copied tree (mount_setattr)
  rebind,       // bind target onto itself (to remount it read-only afterwards)
  symlink,      // create target as a symlink to `source`
  file,         // write `data` as the regular file target (0644), replacing what the image
                // has there; a symlink is removed, never followed
};

struct MountOp {
  OpKind kind = OpKind::mkdir;
  std::string source;        // host path (bind), link text (symlink)
  std::string target;        // path below the new root, without a leading '/': "proc", "dev/null"
  std::string data;          // mount options (tmpfs, devpts)
  unsigned long flags = 0;   // MS_NOSUID, MS_NODEV, MS_NOEXEC for the new mount
  mode_t mode = 0755;        // mkdir
  bool is_dir = true;        // bind: the target is a directory (else a file)
  bool readonly = false;     // remount read-only after mounting
  // A profile mount's source as opened when it was checked (ResolvedMount::fd), inherited
  // by the child; the child binds only what is still that very file. -1: gatebox's own binds.
  int source_fd = -1;
  // Root with a user namespace: the source as a detached mount the parent made from
  // source_fd (recursively read-only if asked, nosuid, nodev), which the child attaches; the
  // sandbox's ids could not walk to a source below a directory closed to them. -1: none.
  int detached_fd = -1;
  // Masks or makes read-only a kernel interface gatebox mounted itself (/proc): a target
  // this kernel lacks (ENOENT) is skipped, nothing is created, and every other failure is
  // a set-up error (exit 70), never blamed on the rootfs and never ignored.
  bool hardening = false;
  std::string what;          // for messages: "mount 1 (/home/me/src -> /src)"
};

struct SetupPlan {
  // The run's scratch space: a tmpfs (sized by limits.disk) mounted on run_dir inside the
  // sandbox's mount namespace only, holding the overlay's upper and work dirs and its mount point.
  std::string run_dir;
  std::string scratch_data;  // tmpfs options
  std::string upper_dir, work_dir, root_dir;
  std::string overlay_data;  // lowerdir=...,upperdir=...,workdir=...
  std::vector<MountOp> ops;  // in order, relative to root_dir, before pivot_root

  std::string hostname;
  bool loopback = false;
  // Everything happens in a new user namespace: unprivileged, one that maps run.user to the
  // caller; as root, one that maps ids 0-65535 to the host ids from id_base on (uid 0 in
  // the sandbox is an unprivileged host uid, for DAC, keyrings and every other uid check).
  bool user_namespace = false;
  bool unprivileged = false;    // gatebox is not root
  std::uint32_t id_base = 0;    // root with a user namespace: the host id of the sandbox's 0
  // Root with a user namespace: the cached tree as a detached mount idmapped onto that range
  // (made by the parent, inherited), attached by the child at lower_dir as the overlay's
  // lower layer. -1: the tree is the lower layer as it is.
  int lower_fd = -1;
  std::string lower_dir;
  // Root with a user namespace, the run dir's parents may be closed to the sandbox's ids (a
  // 0700 cache): the child opens it while it is still host root, mounts its scratch tmpfs
  // through that descriptor and works inside it by relative paths (upper_dir etc. are then
  // relative to the scratch tmpfs's root, the child's working directory).
  std::string cwd;              // absolute, inside the sandbox

  uid_t uid = 65534;
  gid_t gid = 65534;
  int cap_last_cap = 40;
  std::uint64_t nofile = 1024;
  std::uint64_t nproc = 0;      // RLIMIT_NPROC fallback when there is no cgroup (0 = unset)
  std::uint64_t address_space = 0;  // RLIMIT_AS fallback when there is no cgroup (0 = unset)

  std::vector<sock_filter> seccomp;  // empty = unconfined
  bool seccomp_notify = false;       // install with a listener and hand it to the parent (seccomp.report)

  // execve arguments, owned here; argv/envp point into them.
  std::vector<std::string> argv_storage, env_storage, exec_candidates;
  std::vector<char*> argv, envp;

  std::string verdict_file;  // absolute sandbox path, or empty

  // gatebox's argv area, which init (a fork of gatebox) overwrites first thing: the gate
  // would otherwise read the operator's command line in /proc/1/cmdline.
  MemoryRange own_command_line;
};

struct PlanHost {
  bool root = true;               // geteuid() == 0
  std::string run_dir;            // <cache>/run/<run id>
  int cap_last_cap = 40;
  bool cgroup_limits = true;      // false: fall back to rlimits for pids and memory
  // Root: the host id the sandbox's ids start at (its user namespace maps 0-65535 there),
  // with the tree idmapped onto that range (native_stack.cpp); 0: no user namespace.
  std::uint32_t id_base = 0;
};

// Throws Error(65) for a profile the plan cannot express safely (e.g. a cache path with ','),
SetupPlan build_plan(const RunRequest& request, const PlanHost& host);

// The plan as text, one step per line (`gatebox run --dry-run`).
std::string describe_plan(const SetupPlan& plan);


}  // namespace gatebox
