#!/usr/bin/env bash
# limits.disk bounds the writable layer: writing more gives ENOSPC inside the sandbox.
. "$(dirname "$0")/../lib.sh"

make_profile disk <<EOF2
name = "e2e-disk"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", "dd if=/dev/zero of=/tmp/big-$MARKER bs=1M count=64; echo dd-exit=\$?"]
[limits]
timeout = "60s"
disk = "16MiB"
EOF2

gb_run "$PROFILE"
expect_exit 0
expect_stderr_has "No space left on device"
expect_stdout_lacks "dd-exit=0"
expect_no_leftovers
pass
