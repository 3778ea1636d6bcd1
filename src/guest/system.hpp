#pragma once
// The guest's own set-up, done by the agent as PID 1 before the gate exists: file systems,
// identity, network, the gate's cgroup. Every function throws SetupError with one line
// naming the call and the path ("mount /proc: Operation not permitted"); the agent turns
// it into a `failure` frame.
#include <cstdint>
#include <stdexcept>
#include <string>

#include "stack/vm/job.hpp"

namespace gatebox::guest {

class SetupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "<what>: <strerror(err)>".
[[noreturn]] void throw_errno(const std::string& what, int err);

// /dev (devtmpfs): needed first, for the console.
void mount_dev();
// /proc, /sys (read-only), /dev/pts, /dev/shm, /tmp, the /dev/fd links, and read-only
// views of the /proc entries that reach into the guest kernel.
void mount_system(const vm::Job& job);
// kernel.modules_disabled and kernel.kexec_load_disabled set to 1 (one-way: no module and
// no kernel is loaded for the rest of the boot). Called by mount_system before /proc/sys
// becomes read-only.
void lock_kernel();

// /etc/hosts and /etc/hostname (etc_files(job.hostname)) in place of what the image has:
// the guest's root is its own RAM, so a symlink there is simply replaced.
void write_etc_files(const vm::Job& job);
// run.cwd and its parents, made (root's, 0755) where the image lacks them, as runc, runsc
// and the native stack make them.
void make_cwd(const vm::Job& job);
// Read-only bind remounts of the job's mounts, then of / when the job asks for it.
void apply_readonly(const vm::Job& job);
// Removes a directory tree without following symlinks.
void remove_tree(const std::string& path);
void set_hostname(const std::string& name);
void loopback_up();

// The gate's cgroup, /sys/fs/cgroup/gate with the job's limits. cgroupfs itself is
// detached from the mount tree afterwards (uid-0 gates could otherwise raise their own
// limits); the agent keeps descriptors to the files it needs.
struct GateCgroup {
  int dir = -1;    // the gate's cgroup directory
  int procs = -1;  // its cgroup.procs, written by the gate's process before exec
};
GateCgroup make_gate_cgroup(const vm::Job& job);

// Reads a small file below `dir_fd` ("" when it cannot be read).
std::string read_at(int dir_fd, const char* name);
// Writes `value` to a cgroup file below `dir_fd`; false (errno set) on failure.
bool write_at(int dir_fd, const char* name, const std::string& value);
// The value of `key` in a "key value" per line file (memory.events, cpu.stat); 0 if absent.
std::uint64_t keyed_value(const std::string& text, const std::string& key);

}  // namespace gatebox::guest
