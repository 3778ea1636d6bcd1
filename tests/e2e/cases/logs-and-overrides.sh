#!/usr/bin/env bash
# What a user sees and changes from the command line: output is live; the three log
# formats and --log-file; escapes neutralised; --env, --set, --mount, --timeout and
# "-- ARGV" override the profile.
. "$(dirname "$0")/../lib.sh"

make_profile logs <<EOF2
name = "e2e-logs"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", "echo profile argv $MARKER"]
env = { GREETING = "from the profile" }
[limits]
timeout = "60s"
EOF2

# Live: the first line is on gatebox's stdout while the gate still runs (it sleeps 5 s after
# it). No deadline for the first line: a VM boots for up to a minute under TCG, a Job's pod
# is scheduled first, and a loaded Docker daemon takes seconds to start a container; only
# the order counts. Bounded by the profile's timeout (60 s) plus the stack's start-up.
gb_start "$PROFILE" -- /bin/sh -c "echo first $MARKER; sleep 5; echo second $MARKER"
seen=no
for _ in $(seq 1 3000); do
  if grep -qF "first $MARKER" "$T/stdout" 2>/dev/null; then seen=yes; break; fi
  kill -0 "$GB_PID" 2>/dev/null || break
  sleep 0.1
done
if [ "$seen" = no ]; then
  grep -qF "first $MARKER" "$T/stdout" 2>/dev/null &&
    fail "the gate's first line appeared only when gatebox ended (output is not live)"
  kill -0 "$GB_PID" 2>/dev/null || fail "gatebox ended without printing the gate's first line"
  fail "the gate's first line did not appear within 300 s"
fi
kill -0 "$GB_PID" 2>/dev/null || fail "gatebox ended before the gate's first line could be checked"
gb_wait 60
expect_exit 0
expect_stdout_has "second $MARKER"
expect_no_leftovers

# -- ARGV replaces run.argv; -e adds and replaces variables; --set changes any key.
gb_run "$PROFILE" -e GREETING=overridden -e EXTRA=1 --set run.hostname='"from-set"' \
  -- /bin/sh -c 'echo "$GREETING/$EXTRA/$(hostname)"'
expect_exit 0
expect_stdout_has "overridden/1/from-set"
expect_stdout_lacks "profile argv"

# --mount SRC:DST (read-only by default) and :rw.
mkdir -p "$T/in" "$T/out"
chmod 0777 "$T/out"  # the gate runs as nobody
echo "host file $MARKER" >"$T/in/data"
case $GATEBOX_STACK in
  qemu | firecracker | kubernetes)
    # The VM stacks copy mounts into the guest, kubernetes into the pod's image: a writable
    # one is refused before anything runs.
    gb_run "$PROFILE" -m "$T/in:/in" -m "$T/out:/out:rw" -- /bin/true
    expect_exit 64  # the rw mount came from the command line: a usage error
    expect_stderr_has "cannot share a writable host directory"
    gb_run "$PROFILE" -m "$T/in:/in" -- /bin/sh -c \
      'cat /in/data; echo x > /in/new 2>/dev/null && echo WROTE-RO; true'
    ;;
  *)
    gb_run "$PROFILE" -m "$T/in:/in" -m "$T/out:/out:rw" -- /bin/sh -c \
      'cat /in/data; echo x > /in/new 2>/dev/null && echo WROTE-RO; echo result > /out/r'
    ;;
esac
expect_exit 0
expect_stdout_has "host file $MARKER"
expect_stdout_lacks "WROTE-RO"
case $GATEBOX_STACK in
  qemu | firecracker | kubernetes) ;;  # refused above (exit 64)
  *) [ "$(cat "$T/out/r" 2>/dev/null)" = result ] || fail "a write to the :rw mount did not reach the host" ;;
esac
[ ! -e "$T/in/new" ] || fail "a read-only mount was written"

# --timeout overrides limits.timeout.
gb_run "$PROFILE" --timeout 1s -- /bin/sleep 30
expect_exit 1
expect_report timed_out true
expect_no_leftovers

# Formats. prefixed: a timestamp and the stream on every line.
gb_run "$PROFILE" --log-format prefixed -- /bin/sh -c "echo out-line; echo err-line >&2"
expect_exit 0
grep -qE '^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} out\| out-line$' "$T/stdout" || fail "no prefixed stdout line"
# (kubernetes: the log API merges the streams, so the gate's stderr arrives as "out".)
err_tag=err
[ "$GATEBOX_STACK" != kubernetes ] || err_tag=out
grep -qE "^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} $err_tag\| err-line\$" "$T/stdout" || fail "no prefixed stderr line"

# json (the last --log-format wins), with a terminal escape and a non-UTF-8 byte; and
# --log-file with both streams as JSON lines.
gb_run "$PROFILE" --log-format json --log-file "$T/log.jsonl" -- /bin/sh -c \
  'printf "\033]0;pwned\007title\n"; printf "bad \377 byte\n" >&2'
expect_exit 0
python3 - "$T/stdout" "$T/log.jsonl" <<'PY' || fail "JSON log lines are not as expected"
import json, os, sys
err_stream = "stdout" if os.environ.get("GATEBOX_STACK") == "kubernetes" else "stderr"
for path in sys.argv[1:]:
    lines = [json.loads(l) for l in open(path, encoding="utf-8")]
    texts = {(l["stream"], l["text"]) for l in lines}
    assert all(set(l) == {"t", "stream", "text"} for l in lines), lines
    assert ("stdout", "\\x1b]0;pwned\\x07title") in texts, texts
    assert (err_stream, "bad \\xff byte") in texts, texts
    assert all("\x1b" not in l["text"] for l in lines)
PY
expect_no_leftovers
pass
