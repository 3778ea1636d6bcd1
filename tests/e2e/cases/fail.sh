#!/usr/bin/env bash
# A gate that exits 3 fails: gatebox exits 1 and the report keeps the gate's exit code.
. "$(dirname "$0")/../lib.sh"

make_profile fail <<EOF2
name = "e2e-fail"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", "echo failing $MARKER; exit 3"]
[limits]
timeout = "60s"
EOF2

gb_run "$PROFILE"
expect_exit 1
expect_stdout_has "failing $MARKER"
expect_verdict_line fail
expect_report verdict fail
expect_report exit_code 3
expect_report reason "exit code 3"
expect_report timed_out false
expect_report oom_killed false
expect_no_leftovers
pass
