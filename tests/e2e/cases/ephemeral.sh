#!/usr/bin/env bash
# Every run starts from the image as it is: what one run writes is gone in the next, and
# the cached tree on the host is never written.
. "$(dirname "$0")/../lib.sh"

make_profile ephemeral <<EOF2
name = "e2e-ephemeral"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", "echo x > /tmp/persist-$MARKER && echo x > /gatebox/persist-$MARKER && echo written"]
[limits]
timeout = "60s"
EOF2

if [ "$GATEBOX_STACK" = kubernetes ]; then
  # The Job's root is read-only (only /tmp is writable): the write outside /tmp fails.
  gb_run "$PROFILE" -- /bin/sh -c "echo x > /tmp/persist-$MARKER && echo written; echo x > /gatebox/persist-$MARKER || echo root-is-read-only"
  expect_exit 0
  expect_stdout_has written
  expect_stdout_has root-is-read-only
else
  gb_run "$PROFILE"
  expect_exit 0
  expect_stdout_has written
fi

gb_run "$PROFILE" -- /bin/sh -c "ls /tmp/persist-$MARKER /gatebox/persist-$MARKER 2>/dev/null && echo STILL-THERE || echo gone"
expect_exit 0
expect_stdout_has gone
expect_stdout_lacks STILL-THERE
found=$(find "$GATEBOX_CACHE" -name "persist-$MARKER" 2>/dev/null | head -n 3)
[ -z "$found" ] || fail "the run's files are in the cache on the host: $found"
expect_no_leftovers
pass
