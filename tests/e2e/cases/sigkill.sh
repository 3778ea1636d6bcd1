#!/usr/bin/env bash
# gatebox itself SIGKILLed mid-run (no chance to clean up): what it left — its run dir, the
# cgroups, a container, runsc's sandbox and state, a VMM — is reclaimed by the start-up sweep
# of the next run, and by `gatebox cache prune`. What was left in between is shown with the
# result, so a regression in what the sandbox holds by itself (PDEATHSIG, the PID namespace)
# is visible even while the sweep still covers it.
# timeout: 300
. "$(dirname "$0")/../lib.sh"

make_profile long <<EOF2
name = "e2e-sigkill"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/fixtures/sleeper", "$MARKER"]
[limits]
timeout = "120s"
EOF2

# Starts the sleeper, SIGKILLs gatebox once the gate runs, and writes what is left to
# $T/left (not in a $(...) subshell: a failure here must end the case).
kill_mid_run() {
  gb_start "$PROFILE"
  for _ in $(seq 900); do
    grep -q "sleeper: sleeping" "$T/stdout" 2>/dev/null && break
    kill -0 "$GB_PID" 2>/dev/null || fail "gatebox ended before the gate started"
    sleep 0.1
  done
  grep -q "sleeper: sleeping" "$T/stdout" || fail "the gate did not start within 90 s"
  kill -KILL "$GB_PID"
  wait "$GB_PID" 2>/dev/null || true
  sleep 1
  leftovers | sed 's/^/  /' >"$T/left"
}

# A SIGKILLed gatebox cannot clean up: its run dir, cgroup, container, VM dir or Job stays.
# Something must be left, or the sweep below is not tested at all.
kill_mid_run
left1=$(cat "$T/left")
[ -n "$left1" ] || fail "nothing was left after SIGKILL mid-run: the sweep has nothing to prove"
echo "left by the first SIGKILLed run (the next run reclaims it):
$left1"
# The next run's start-up sweep.
gb_run "$PROFILE" -- /bin/true
expect_exit 0
expect_no_leftovers

kill_mid_run
left2=$(cat "$T/left")
[ -n "$left2" ] || fail "nothing was left after the second SIGKILL: cache prune has nothing to prove"
echo "left by the second SIGKILLed run (cache prune reclaims it):
$left2"
GB_CMD="$GB_BIN cache prune --cache-dir $GB_CACHE"
GB_EXIT=0
"$GB_BIN" cache prune --cache-dir "$GB_CACHE" >"$T/stdout" 2>"$T/stderr" || GB_EXIT=$?
expect_exit 0
expect_no_leftovers
pass "left after SIGKILL: $(printf '%s\n' "$left1" | grep -c . || true) items, then none"
