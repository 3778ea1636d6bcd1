#!/usr/bin/env bash
# Mistakes in a profile or on the command line are caught before anything starts, with a
# message that says where and what to write instead.
. "$(dirname "$0")/../lib.sh"

make_profile typo <<EOF2
name = "e2e-typo"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/true", "$MARKER"]
[limits]
memroy = "64MiB"
EOF2
gb_run "$PROFILE"
expect_exit 65
expect_stderr_has memroy
expect_stderr_matches '[Dd]id you mean.*memory'

# The bad size is on line 9: the message names file, line and column.
make_profile bad-size <<EOF2
name = "e2e-bad-size"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/true", "$MARKER"]

[limits]
timeout = "60s"
memory = "512 MB"
EOF2
gb_run "$PROFILE"
expect_exit 65
expect_stderr_matches 'bad-size\.toml:9:[0-9]+'
expect_stderr_has "MiB"

make_profile ok <<EOF2
name = "e2e-ok"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/true", "$MARKER"]
EOF2
gb_run "$PROFILE" --set limits.pids
expect_exit 64
gb_run "$PROFILE" --set 'limits.pids=[1,'
expect_exit 64
gb_run "$PROFILE" -t soon
expect_exit 64
# A value of the wrong type: refused, naming the key (as a bad command line or a bad profile).
gb_run "$PROFILE" --set 'limits.pids="many"'
[ "$GB_EXIT" = 64 ] || [ "$GB_EXIT" = 65 ] || fail "expected exit code 64 or 65 for a string pids, got $GB_EXIT"
expect_stderr_has limits.pids
expect_no_leftovers
pass
