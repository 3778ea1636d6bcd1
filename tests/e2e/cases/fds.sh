#!/usr/bin/env bash
# No file descriptor of gatebox's or its caller's leaks into the gate.
. "$(dirname "$0")/../lib.sh"

make_profile fds <<EOF2
name = "e2e-fds"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/fixtures/fdscan", "$MARKER"]
[limits]
timeout = "60s"
EOF2

# An inheritable fd opened by the caller: a careless sandbox hands it to the gate.
exec 7<"$IMAGE"
gb_run "$PROFILE"
exec 7<&-
expect_exit 0
expect_stdout_has "open fds: 0 1 2"
expect_no_leftovers
pass
