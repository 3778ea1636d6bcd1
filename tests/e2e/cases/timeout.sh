#!/usr/bin/env bash
# A gate that hangs (ignoring SIGTERM, with a grandchild in its own session) is killed at
# limits.timeout: verdict per on_timeout, quickly, and nothing of it survives. So is a gate
# that keeps both output pipes busy (the timeout was once seen only when poll() had nothing
# to report: a 1 s timeout ended after 1.9 s).
# timeout: 180
. "$(dirname "$0")/../lib.sh"

# limits.timeout counts from the gate's start; a VM stack boots first (TCG: seconds).
boot=0
case $GATEBOX_STACK in qemu | firecracker) boot=60 ;; esac

make_profile hang <<EOF2
name = "e2e-timeout"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/fixtures/sleeper", "$MARKER"]
[limits]
timeout = "2s"
EOF2

# Teardown after the kill, on a loaded machine: a container's or a VM's end, a pod's
# deletion. The bound is from the gate's first line to gatebox's exit, on a clock outside
# gatebox: the 2 s timeout plus that.
# On kubernetes the pod is deleted with a 1 s grace, and gatebox waits until the API no
# longer lists it, i.e. until the kubelet confirmed its containers stopped: on the 1.20 test
# cluster that confirmation takes 10-15 s (the gate's processes die within the grace).
teardown=6
case $GATEBOX_STACK in
  qemu | firecracker) teardown=13 ;;
  kubernetes) teardown=25 ;;
esac

gb_run_clocked "sleeper: sleeping" "$PROFILE"
expect_exit 1
expect_verdict_line fail
expect_report verdict fail
expect_report timed_out true
expect_stdout_has "sleeper: sleeping"
# Killed at once: the gate's run ends within a second or so of the 2 s timeout (gatebox's own
# timing), and gatebox itself is gone soon after (the outside clock).
expect_gate_ended_within 4
expect_line_to_exit_within $((2 + teardown))
expect_faster_than $((60 + boot))
expect_no_leftovers

# on_timeout = "error", and -t overriding limits.timeout.
gb_run_clocked "sleeper: sleeping" "$PROFILE" -t 1s --set 'verdict.on_timeout="error"'
expect_exit 2
expect_report verdict error
expect_report timed_out true
expect_gate_ended_within 3
expect_line_to_exit_within $((1 + teardown))
expect_faster_than $((60 + boot))
expect_no_leftovers

# Busy pipes: both streams flooded without a pause until the kill. (kubernetes enforces the
# timeout as the Job's activeDeadlineSeconds, in whole seconds, not in a poll loop.)
if [ "$GATEBOX_STACK" != kubernetes ]; then
  gb_run "$PROFILE" -t 1s --set 'limits.output="1MiB"' -- /bin/sh -c \
    '/fixtures/flood 100000000000 "$0" >&2 & exec /fixtures/flood 100000000000 "$0"' "$MARKER"
  expect_exit 1
  expect_report timed_out true
  # The kill follows the deadline at once, flood or not.
  expect_gate_ended_within 1.5
  expect_faster_than $((60 + boot))
  expect_no_leftovers
fi
pass
