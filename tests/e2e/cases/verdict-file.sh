#!/usr/bin/env bash
# When the gate writes verdict.file, the file decides; a malformed one is an error whose
# reason never quotes the file; without one the exit code decides. verdict.file under
# /proc, /sys or /dev is refused before anything starts; on native the file is read with
# the gate's own credentials, so a root-only host file cannot be read through it.
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
# What the file holds never shows in the reason, on stderr or in the report.
gb_run "$PROFILE" -- /bin/sh -c 'echo "SECRET$0=1" > /gatebox/verdict.json; exit 0' "$MARKER"
expect_exit 2
expect_report verdict error
expect_report_has reason "not JSON: parse error at line 1, column 1"
! grep -qF "SECRET" "$T/stderr" "$GB_REPORT" || fail "the malformed verdict file's content was quoted"
gb_run "$PROFILE" -- /bin/sh -c 'echo "{\"verdict\": \"SECRET$0\"}" > /gatebox/verdict.json; exit 0' "$MARKER"
expect_exit 2
expect_report_has reason '"verdict" is another string'
! grep -qF "SECRET" "$T/stderr" "$GB_REPORT" || fail "the verdict file's bad \"verdict\" value was quoted"

# Absent: the exit code decides.
gb_run "$PROFILE" -- /bin/sh -c 'exit 0'
expect_exit 0
expect_report verdict_file null
gb_run "$PROFILE" -- /bin/sh -c 'exit 3'
expect_exit 1
expect_report exit_code 3
expect_no_leftovers

# Kernel files are refused as verdict.file when the profile is loaded: nothing starts.
for path in /proc/1/environ /sys/kernel/notes /dev/stdin; do
  make_profile vkernel <<EOF2
name = "e2e-verdict-kernel"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/true", "$MARKER"]
[verdict]
file = "$path"
EOF2
  gb_run "$PROFILE"
  expect_exit 65
  expect_stderr_matches "vkernel\.toml:7:8: verdict\.file: '$path' is under /[a-z]+, a kernel interface"
  [ ! -f "$GB_REPORT" ] || [ "$(report_get verdict)" = null ] || fail "a verdict for a refused profile"
done
expect_no_leftovers

# native: the file is read with the gate's credentials. A host file only root may read,
# mounted read-only and named as the verdict file, holds a valid verdict: as nobody the
# gate cannot read it, so neither may the verdict reader (init runs as root).
if [ "$GATEBOX_STACK" = native ]; then
  mkdir -m 0755 "$T/secret"
  echo "{\"verdict\": \"pass\", \"reason\": \"SECRET-$MARKER\"}" >"$T/secret/root-only.json"
  chmod 0600 "$T/secret/root-only.json"
  make_profile vroot <<EOF2
name = "e2e-verdict-root-only"
[rootfs]
image = "$IMAGE"
[run]
user = "65534:65534"
argv = ["/bin/sh", "-c", "cat /secret/root-only.json || echo gate-cannot-read-$MARKER; exit 1"]
[verdict]
file = "/secret/root-only.json"
EOF2
  gb_run "$PROFILE" -m "$T/secret:/secret:ro"
  expect_stdout_has "gate-cannot-read-$MARKER"
  expect_exit 2
  expect_report verdict error
  expect_report_has reason "not a regular file of at most 64 KiB that the gate itself can read"
  ! grep -qF "SECRET-$MARKER" "$T/stdout" "$T/stderr" "$GB_REPORT" || fail "a root-only host file was read as the verdict"
  expect_no_leftovers
fi
pass
