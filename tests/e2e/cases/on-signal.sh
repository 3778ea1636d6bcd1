#!/usr/bin/env bash
# A gate killed by a signal from inside the sandbox: verdict.on_signal decides (fail by
# default; error or pass on request), and the report names the signal.
. "$(dirname "$0")/../lib.sh"

make_profile signal <<EOF2
name = "e2e-on-signal"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", "echo about-to-abort; kill -ABRT \$\$; echo still-here", "$MARKER"]
[limits]
timeout = "60s"
EOF2

gb_run "$PROFILE"
expect_exit 1
expect_stdout_has about-to-abort
expect_stdout_lacks still-here
expect_report verdict fail
expect_report_has reason SIGABRT
expect_report timed_out false
expect_no_leftovers

gb_run "$PROFILE" --set 'verdict.on_signal="error"'
expect_exit 2
expect_report verdict error
expect_report_has reason SIGABRT
expect_no_leftovers

gb_run "$PROFILE" --set 'verdict.on_signal="pass"'
expect_exit 0
expect_report verdict pass
expect_no_leftovers
pass
