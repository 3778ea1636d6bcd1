#pragma once
// The profile's bind mounts, checked against the host once for every stack: sources exist,
// are opened once and resolved to real paths through that descriptor, targets are absolute,
// normalised and unique, and none hides what the sandbox itself provides (/proc, /dev).
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "profile/profile.hpp"
#include "util/fd.hpp"
#include "util/sandbox_path.hpp"

namespace gatebox {

struct ResolvedMount {
  std::string source;  // real path on the host, read back from `fd` (symlinks resolved once)
  std::string target;  // normalised absolute path in the sandbox
  bool readonly = true;
  bool is_dir = true;
  // The source as opened when it was checked (O_PATH). Stacks that can mount or copy from
  // it do, so that a source renamed or swapped for a symlink afterwards is not what the
  // gate gets; shared because ResolvedMount is copied. Null only in tests of renderers.
  std::shared_ptr<const Fd> fd;
};

// Throws Error(65) naming the mount ("mount 2: ..."), counting from 1 in profile order.
// The result is ordered so that a mount comes after every mount whose target contains it
// (otherwise the outer one would hide it); mounts at the same depth keep profile order.
std::vector<ResolvedMount> resolve_mounts(const Profile& profile);

// Against the rootfs tree, before any stack starts: Error(65) ("unsafe rootfs") when a
// mount target, or a directory on its way, is a symlink in the tree, or a file where a
// directory must be (a directory mount onto a file, or the reverse, counts too). Such a
// target would be refused by one stack, resolved inside the tree by another and fail in a
// guest on a third; checked once here, it is the same refusal on every stack. Parts of a
// target below another mount's target come from that mount's source, not from the tree.
void check_mount_targets(const std::vector<ResolvedMount>& mounts, const std::filesystem::path& tree);

// For stacks that copy the source (VMs, kubernetes): opens for reading the very file that
// was checked, through m.fd (/proc/self/fd/N reopens it wherever its path now leads);
// without one (renderer tests) by path, not following a symlink at the end. `flags` gets
// O_CLOEXEC added. Error(65) naming the mount when it cannot be opened.
Fd open_checked_source(const ResolvedMount& m, int flags);

// For stacks that hand the source's path to another process (dockerd, runsc), just before
// they do: Error(65) unless `m.source` still leads, without a symlink, to the file opened
// when it was checked (same device and inode as m.fd). What remains is the window between
// this check and the other process's mount: a user who can rename directories on the
// source's path during it can still swap the source.
void check_source_unchanged(const ResolvedMount& m);

// The mount points strictly below `dir` in `mountinfo` (the text of /proc/self/mountinfo),
// unescaped, in the file's order.
std::vector<std::string> submounts_below(const std::string& dir, std::string_view mountinfo);

// For stacks whose runtime binds a read-only source without making what is mounted below
// it read-only too (Docker 20.10, runsc): Error(65) for the first read-only mount whose
// source has a submount, naming both, since the gate could write into that submount.
void refuse_readonly_submounts(const std::vector<ResolvedMount>& mounts, std::string_view stack,
                               std::string_view mountinfo);


}  // namespace gatebox
