#!/usr/bin/env bash
# SIGTERM / SIGINT to gatebox: the sandbox is torn down first, the report says
# "interrupted", and gatebox exits 143 / 130.
# timeout: 240
. "$(dirname "$0")/../lib.sh"

make_profile long <<EOF2
name = "e2e-sigterm"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/fixtures/sleeper", "$MARKER"]
[limits]
timeout = "120s"
EOF2

# Waits until the gate is running (at most 60 s: a VM boots slowly), then 1 s more.
wait_for_gate() {
  for _ in $(seq 600); do
    grep -q "sleeper: sleeping" "$T/stdout" 2>/dev/null && break
    kill -0 "$GB_PID" 2>/dev/null || fail "gatebox ended before the gate started"
    sleep 0.1
  done
  grep -q "sleeper: sleeping" "$T/stdout" || fail "the gate did not start within 60 s"
  sleep 1
}

for sig in TERM INT; do
  gb_start "$PROFILE"
  wait_for_gate
  kill -s "$sig" "$GB_PID"
  gb_wait 30
  if [ "$sig" = TERM ]; then expect_exit 143; else expect_exit 130; fi
  expect_report interrupted true
  expect_no_leftovers
done
pass
