#!/usr/bin/env bash
# When the gate writes verdict.file, the file decides; a malformed one is an error; without
# one the exit code decides.
. "$(dirname "$0")/../lib.sh"

make_profile vfile <<EOF2
name = "e2e-verdict-file"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/true", "$MARKER"]
[limits]
timeout = "60s"
[verdict]
file = "/gatebox/verdict.json"
EOF2

# Valid: exit 0, but the file says fail.
gb_run "$PROFILE" -- /bin/sh -c \
  'echo "{\"verdict\":\"fail\",\"reason\":\"lint: 3 problems\"}" > /gatebox/verdict.json; exit 0'
expect_exit 1
expect_verdict_line fail
expect_stderr_has "lint: 3 problems"
expect_report verdict fail
expect_report reason "verdict file: lint: 3 problems"
expect_report verdict_file.verdict fail

# The file overrules a failing exit code too, and extra keys reach the report.
gb_run "$PROFILE" -- /bin/sh -c \
  'echo "{\"verdict\":\"pass\",\"reason\":\"all good\",\"score\":7}" > /gatebox/verdict.json; exit 1'
expect_exit 0
expect_report verdict pass
expect_report verdict_file.score 7

# Malformed: an error, whatever the exit code.
gb_run "$PROFILE" -- /bin/sh -c 'echo "{\"verdict\": \"maybe" > /gatebox/verdict.json; exit 0'
expect_exit 2
expect_report verdict error
gb_run "$PROFILE" -- /bin/sh -c 'echo "{\"verdict\": \"maybe\"}" > /gatebox/verdict.json; exit 0'
expect_exit 2
expect_report verdict error

# Absent: the exit code decides.
gb_run "$PROFILE" -- /bin/sh -c 'exit 0'
expect_exit 0
expect_report verdict_file null
gb_run "$PROFILE" -- /bin/sh -c 'exit 3'
expect_exit 1
expect_report exit_code 3
expect_no_leftovers
pass
