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

# A symlink to a valid file that says pass: not followed, so an error (not a pass).
gb_run "$PROFILE" -- /bin/sh -c \
  'echo "{\"verdict\":\"pass\",\"reason\":\"via a link\"}" > /tmp/real.json; ln -s /tmp/real.json /gatebox/verdict.json; exit 1'
expect_exit 2
expect_report verdict error
expect_stderr_lacks "via a link"
expect_no_leftovers

# A FIFO: refused without blocking on it (the wall-clock bound catches a hang). gVisor
# keeps a FIFO inside its Sentry: the host sees no file there, so the exit code decides
# (the gate's 1 here, never a pass).
gb_run "$PROFILE" -- /bin/sh -c 'mkfifo /gatebox/verdict.json; exit 1'
if [ "$GATEBOX_STACK" = gvisor ]; then
  expect_exit 1
  expect_report verdict_file null
else
  expect_exit 2
  expect_report verdict error
fi
expect_faster_than 120
expect_no_leftovers

# A directory.
gb_run "$PROFILE" -- /bin/sh -c 'mkdir /gatebox/verdict.json; exit 0'
expect_exit 2
expect_report verdict error
expect_no_leftovers
pass
