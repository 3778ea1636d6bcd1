#!/usr/bin/env bash
# verdict.pass / verdict.error decide what an exit code means: 127 (command not found) is
# an error by default, a profile can name its own error and pass codes.
. "$(dirname "$0")/../lib.sh"

make_profile codes <<EOF2
name = "e2e-error-codes"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", "echo code \$0 $MARKER; exit \$0", "127"]
[limits]
timeout = "60s"
EOF2

gb_run "$PROFILE"
expect_exit 2
expect_verdict_line error
expect_report verdict error
expect_report exit_code 127

# A program that does not exist in the image: the same error, with the reason.
gb_run "$PROFILE" -- /no/such/program-$MARKER
expect_exit 2
expect_report verdict error
expect_report exit_code 127

# A profile's own list replaces the default one: 42 is an error, 127 is now a plain fail.
gb_run "$PROFILE" --set 'verdict.error=[42]' -- /bin/sh -c "exit 42"
expect_exit 2
expect_report exit_code 42
gb_run "$PROFILE" --set 'verdict.error=[42]'
expect_exit 1
expect_report verdict fail

# Extra pass codes.
gb_run "$PROFILE" --set 'verdict.pass=[0, 5]' -- /bin/sh -c "exit 5"
expect_exit 0
expect_report verdict pass
expect_report exit_code 5
expect_no_leftovers
pass
