#!/usr/bin/env bash
# A gate that needs more than limits.memory is killed by the OOM killer and fails.
. "$(dirname "$0")/../lib.sh"

make_profile oom <<EOF2
name = "e2e-oom"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/fixtures/memhog", "512", "$MARKER"]
[limits]
timeout = "60s"
memory = "64MiB"
EOF2

# memhog ignores its second argument; it is there as the marker.
gb_run "$PROFILE"
expect_exit 1
expect_report oom_killed true
expect_report verdict fail
expect_stdout_lacks "memhog: done"
expect_no_leftovers

# verdict.on_oom decides the verdict of an OOM kill: error (2), and pass (0) on request.
gb_run "$PROFILE" --set 'verdict.on_oom="error"'
expect_exit 2
expect_report oom_killed true
expect_report verdict error
expect_no_leftovers
gb_run "$PROFILE" --set 'verdict.on_oom="pass"'
expect_exit 0
expect_report oom_killed true
expect_report verdict pass
expect_no_leftovers

# Within the limit the same program passes.
gb_run "$PROFILE" -- /fixtures/memhog 16
expect_exit 0
expect_stdout_has "memhog: done 16 MiB"
expect_report oom_killed false
expect_no_leftovers
pass
