#!/usr/bin/env bash
# Host directories: a read-only mount cannot be written even where the host permissions
# would allow it; a read-write mount's writes reach the host.
. "$(dirname "$0")/../lib.sh"

mkdir -m 0777 "$T/ro" "$T/rw"
echo original >"$T/ro/data.txt"
chmod 0666 "$T/ro/data.txt"

make_profile mounts <<EOF2
name = "e2e-readonly-mount"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", "cat /data/data.txt; echo changed > /data/data.txt; echo write-exit=\$?; touch /data/new-$MARKER; echo touch-exit=\$?; echo from-the-gate-$MARKER > /out/result.txt; echo rw-exit=\$?"]
[limits]
timeout = "60s"
[[mount]]
source = "$T/rw"
target = "/out"
readonly = false
EOF2

case $GATEBOX_STACK in
  qemu | firecracker | kubernetes)
    gb_run "$PROFILE" -m "$T/ro:/data:ro"
    expect_exit 65
    expect_stderr_has "cannot share a writable host directory"
    expect_no_leftovers
    # The read-only half alone: the mount's copy (in the guest, in the pod's image) cannot be
    # written either.
    make_profile mounts-ro <<EOF2
name = "e2e-readonly-mount"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", "cat /data/data.txt; echo changed > /data/data.txt; echo write-exit=\$?; touch /data/new-$MARKER; echo touch-exit=\$?"]
[limits]
timeout = "60s"
EOF2
    gb_run "$PROFILE" -m "$T/ro:/data:ro"
    expect_exit 0
    expect_stdout_has original
    expect_stdout_lacks "write-exit=0"
    expect_stdout_lacks "touch-exit=0"
    expect_stderr_has "Read-only file system"
    [ "$(cat "$T/ro/data.txt")" = original ] || fail "the read-only host file changed: $(cat "$T/ro/data.txt")"
    [ ! -e "$T/ro/new-$MARKER" ] || fail "a file appeared in the read-only host dir"
    expect_no_leftovers
    pass "rw mounts refused, ro mounts read-only"
    ;;
esac

gb_run "$PROFILE" -m "$T/ro:/data:ro"
expect_exit 0
expect_stdout_has original
expect_stdout_lacks "write-exit=0"
expect_stdout_lacks "touch-exit=0"
expect_stderr_has "Read-only file system"
[ "$(cat "$T/ro/data.txt")" = original ] || fail "the read-only host file changed: $(cat "$T/ro/data.txt")"
[ ! -e "$T/ro/new-$MARKER" ] || fail "a file appeared in the read-only host dir"
expect_stdout_has "rw-exit=0"
[ "$(cat "$T/rw/result.txt" 2>/dev/null)" = "from-the-gate-$MARKER" ] ||
  fail "the write to the rw mount did not reach the host: $(ls -la "$T/rw")"
expect_no_leftovers

# -m without a mode is read-only too.
gb_run "$PROFILE" -m "$T/ro:/data"
expect_exit 0
expect_stdout_lacks "write-exit=0"
[ "$(cat "$T/ro/data.txt")" = original ] || fail "the host file behind a default -m changed"
expect_no_leftovers
pass
