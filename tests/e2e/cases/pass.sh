#!/usr/bin/env bash
# A gate that exits 0 passes: its output is shown, the report says so, the image is cached.
. "$(dirname "$0")/../lib.sh"

make_profile pass <<EOF2
name = "e2e-pass"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", "echo hello from the gate $MARKER; echo to stderr $MARKER >&2"]
[limits]
timeout = "60s"
EOF2

gb_run "$PROFILE"
expect_exit 0
expect_stdout_has "hello from the gate $MARKER"
expect_stderr_has "to stderr $MARKER"
expect_verdict_line pass
expect_report verdict pass
expect_report exit_code 0
expect_report gate e2e-pass
expect_report stack "$GATEBOX_STACK"
expect_report rootfs.sha256 "$(sha256sum <"$IMAGE" | cut -d' ' -f1)"
expect_no_leftovers

# The second run of the same image never unpacks it again.
gb_run "$PROFILE"
expect_exit 0
expect_report rootfs.cache hit
expect_no_leftovers
pass
