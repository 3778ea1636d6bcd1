#!/usr/bin/env bash
# Rootfs layouts that attack sandbox set-up: /proc, /dev, /dev/null or a mount target (or a
# directory above one) that is a symlink to a host directory — absolute, or climbing out
# through '..' — or a dangling one; and a mount target with '..' in the profile. Set-up
# must never follow such a link out of the tree: the run is refused as an unsafe rootfs
# (exit 65), or it runs with the link left harmless inside the sandbox (where a stack mounts
# its own /dev over the image's, or resolves the link inside the tree). Either way the gate
# never sees the host directory, nothing there changes, and nothing is mounted on the host.
# Under qemu and firecracker set-up happens in the guest, whose root is the initramfs: a
# link out of the tree leads to a path in the guest's RAM, never to the host's.
# timeout: 400
. "$(dirname "$0")/../lib.sh"

mkdir "$T/images" "$T/outside" "$T/src"
echo host-secret >"$T/outside/secret.txt"
echo mounted-source >"$T/src/src.txt"
zstd -dc "$IMAGE" >"$T/base.tar"
python3 "$E2E_DIR/hostile_layouts.py" "$T/base.tar" "$T/images" "$T/outside"

expect_host_untouched() {
  local list
  list=$(ls -A "$T/outside")
  [ "$list" = secret.txt ] || fail "$1: files appeared in the host directory the link points at: $list"
  [ "$(cat "$T/outside/secret.txt")" = host-secret ] || fail "$1: the host file behind the link changed"
  ! grep -qF " $T/" /proc/self/mountinfo || fail "$1: something was mounted on the host: $(grep -F " $T/" /proc/self/mountinfo)"
}

# run_layout IMAGE TARGET [65]: the image as the rootfs, $T/src mounted at TARGET; the gate
# shows what it can read at the link and at the mount. With 65, only the refusal will do.
run_layout() {
  local image=$1 target=$2 required=${3:-}
  make_profile "$image" <<EOF2
name = "e2e-hostile-layouts"
[rootfs]
image = "$T/images/$image"
[run]
argv = ["/bin/sh", "-c", "cat /data/secret.txt /parent/data/secret.txt /dev/null/secret.txt $target/src.txt 2>&1; echo ran-$MARKER"]
[limits]
timeout = "60s"
[[mount]]
source = "$T/src"
target = "$target"
EOF2
  gb_run "$PROFILE"
  if [ -n "$required" ]; then
    expect_exit 65
    expect_stderr_has "unsafe rootfs: mount target"
    expect_stdout_lacks "ran-$MARKER"
  fi
  case $GB_EXIT in
    65) expect_stderr_has "unsafe rootfs" ;;
    # Where the link is resolved inside the tree (runc, runsc), the mount may land under
    # another mount (docker's /tmp) and not be seen: harmless, so not required.
    0) expect_stdout_has "ran-$MARKER" ;;
    *) fail "$image: expected exit 65 (refused) or 0 (harmless), got $GB_EXIT" ;;
  esac
  expect_stdout_lacks host-secret
  expect_host_untouched "$image"
  results+=("$image=$GB_EXIT")
}

results=()
for image in proc-link.tar proc-dangling.tar dev-link.tar dev-dotdot.tar devnull-link.tar; do
  run_layout "$image" /data
done
# A mount target (or a directory above it) that is a symlink or a file in the tree: refused
# before any stack starts (policy/mounts: check_mount_targets), the same on every stack.
for image in data-link.tar data-dotdot.tar data-dangling.tar data-file.tar; do
  run_layout "$image" /data 65
done
run_layout data-parent-link.tar /parent/data 65
run_layout data-parent-file.tar /parent/data 65
expect_no_leftovers

# '..' in a mount target is refused before anything starts.
make_profile dotdot-target <<EOF2
name = "e2e-hostile-layouts"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", "echo ran-$MARKER"]
[limits]
timeout = "60s"
[[mount]]
source = "$T/src"
target = "/data/../../../$T/outside"
EOF2
gb_run "$PROFILE"
expect_exit 65
expect_stderr_has "contains '..'"
expect_stdout_lacks "ran-$MARKER"
expect_host_untouched "a '..' mount target"
expect_no_leftovers
pass "${results[*]}"
