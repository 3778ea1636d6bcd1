#!/usr/bin/env bash
# A gate killed by a signal from inside the sandbox: verdict.on_signal decides (fail by
# default; error or pass on request), and the report names the signal. The signal is a
# crash (SIGSEGV), which the kernel delivers even to a PID 1 (the gate is one on docker and
# kubernetes, where a signal it sent itself would be ignored).
. "$(dirname "$0")/../lib.sh"

make_profile signal <<EOF2
name = "e2e-on-signal"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", "echo about-to-crash; exec /fixtures/hostile segv", "$MARKER"]
[limits]
timeout = "60s"
EOF2

gb_run "$PROFILE"
expect_exit 1
expect_stdout_has about-to-crash
expect_report verdict fail
expect_report_has reason SIGSEGV
expect_report timed_out false
expect_no_leftovers

gb_run "$PROFILE" --set 'verdict.on_signal="error"'
expect_exit 2
expect_report verdict error
expect_report_has reason SIGSEGV
expect_no_leftovers

gb_run "$PROFILE" --set 'verdict.on_signal="pass"'
expect_exit 0
expect_report verdict pass
expect_no_leftovers
pass
