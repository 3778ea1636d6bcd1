#!/usr/bin/env bash
# Issue 16, finding 3: a read-only mount is read-only all the way down. A tmpfs mounted
# below the source on the host must not be writable from the gate: native makes every
# mount of the bind read-only (mount_setattr, AT_RECURSIVE); docker and gvisor cannot, so
# they refuse the mount (65); the VM and kubernetes stacks copy it, read-only.
. "$(dirname "$0")/../lib.sh"

[ "$(id -u)" = 0 ] || not_applicable "$CASE" "mounting a tmpfs on the host needs root"
mkdir -m 0777 "$T/ro" "$T/ro/sub"
echo top >"$T/ro/top.txt"
mount -t tmpfs -o size=1m,mode=0777 "gbtest-$MARKER" "$T/ro/sub" || skip "cannot mount a tmpfs here"
# Unmounted before lib.sh's cleanup, which leaves $T alone while a mount is under it.
trap 'umount "$T/ro/sub" 2>/dev/null || true; cleanup_dir' EXIT
echo below >"$T/ro/sub/below.txt"
chmod 0666 "$T/ro/sub/below.txt"

make_profile submount <<EOF2
name = "e2e-readonly-submount"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", "cat /data/top.txt /data/sub/below.txt; echo new > /data/sub/new-$MARKER; echo sub-write-exit=\$?; echo changed > /data/sub/below.txt; echo sub-change-exit=\$?"]
[limits]
timeout = "60s"
[[mount]]
source = "$T/ro"
target = "/data"
EOF2

gb_run "$PROFILE"
case $GATEBOX_STACK in
  docker | gvisor)
    expect_exit 65
    expect_stderr_has "$T/ro/sub is a separate mount below the read-only source"
    ;;
  *)
    expect_exit 0
    expect_stdout_has top
    expect_stdout_has below
    expect_stdout_lacks "sub-write-exit=0"
    expect_stdout_lacks "sub-change-exit=0"
    expect_stderr_has "Read-only file system"
    ;;
esac
[ ! -e "$T/ro/sub/new-$MARKER" ] || fail "the gate wrote a file into the host's tmpfs below a read-only mount"
[ "$(cat "$T/ro/sub/below.txt")" = below ] || fail "the host's file below the read-only mount changed"
expect_no_leftovers
pass
