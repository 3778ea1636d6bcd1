#!/usr/bin/env bash
# 50 MiB of output under limits.output = 1MiB: the rest is dropped (the report says so and
# still counts it), the gate is never blocked, and the run takes seconds.
. "$(dirname "$0")/../lib.sh"

make_profile flood <<EOF2
name = "e2e-output-flood"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/fixtures/flood", "52428800", "$MARKER"]
[limits]
timeout = "120s"
output = "1MiB"
EOF2

# flood ignores its second argument (the marker).
gb_run "$PROFILE"
expect_exit 0
expect_report output.truncated true
case $GATEBOX_STACK in
  qemu | firecracker)
    # The guest agent stops forwarding once the cap is passed (every byte crosses an emulated
    # serial port), so the host counts what it was sent: a little over the cap.
    expect_report_cmp output.stdout_bytes -gt 1048576 ;;
  kubernetes)
    # The kubelet keeps a container's log in files it rotates (10 MiB by default), and the
    # log API streams what they hold: the host counts what reached it.
    expect_report_cmp output.stdout_bytes -gt 1048576 ;;
  *) expect_report_cmp output.stdout_bytes -ge 52428800 ;;
esac
shown=$(wc -c <"$T/stdout")
[ "$shown" -le $((1024 * 1024 + 128 * 1024)) ] ||
  fail "expected at most about 1 MiB of stdout, got $shown bytes"
[ "$shown" -ge $((512 * 1024)) ] || fail "expected the first 1 MiB of output to be shown, got $shown bytes"
# Only against a hang: a gate blocked on its output would hit the 120 s timeout (exit 1).
# Through an emulated serial port on a loaded machine the 1 MiB alone takes a minute.
expect_faster_than 110
expect_no_leftovers
pass "took ${GB_SECS}s"
