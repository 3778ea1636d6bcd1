#!/usr/bin/env bash
# The verdict file is read without following symlinks and only as a regular file (README,
# "verdict"): a gate that plants a symlink (to a passing verdict, or to a host-looking
# path), a FIFO or a directory there gets an error, at once, never a verdict from it.
. "$(dirname "$0")/../lib.sh"

make_profile vspecial <<EOF2
name = "e2e-verdict-file-special"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/true", "$MARKER"]
[limits]
timeout = "60s"
[verdict]
file = "/gatebox/verdict.json"
EOF2

# On kubernetes the verdict file is the kubelet's termination-message file, a regular file
# it mounts there itself: the gate cannot replace it with a link, FIFO or directory, so
# the exit code decides (never a pass from a planted file).
k8s=false
[ "$GATEBOX_STACK" != kubernetes ] || k8s=true

# A symlink to a valid file that says pass: not followed, so an error (not a pass).
gb_run "$PROFILE" -- /bin/sh -c \
  'echo "{\"verdict\":\"pass\",\"reason\":\"via a link\"}" > /tmp/real.json; ln -s /tmp/real.json /gatebox/verdict.json; exit 1'
if $k8s; then
  expect_exit 1
else
  expect_exit 2
  expect_report verdict error
fi
expect_stderr_lacks "via a link"
expect_no_leftovers

# A FIFO: refused without blocking on it (the wall-clock bound catches a hang). gVisor
# keeps a FIFO inside its Sentry: the host sees no file there, so the exit code decides
# (the gate's 1 here, never a pass).
gb_run "$PROFILE" -- /bin/sh -c 'mkfifo /gatebox/verdict.json; exit 1'
if [ "$GATEBOX_STACK" = gvisor ] || $k8s; then
  expect_exit 1
  $k8s || expect_report verdict_file null
else
  expect_exit 2
  expect_report verdict error
fi
expect_faster_than 120
expect_no_leftovers

# A directory (exit 1, so that an ignored file can never look like a pass).
gb_run "$PROFILE" -- /bin/sh -c 'mkdir /gatebox/verdict.json; exit 1'
if $k8s; then
  expect_exit 1
else
  expect_exit 2
  expect_report verdict error
fi
expect_no_leftovers
pass
