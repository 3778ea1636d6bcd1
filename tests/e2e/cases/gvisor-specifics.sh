#!/usr/bin/env bash
# What the gvisor stack does its own way: the gate runs on gVisor's kernel (dmesg, uname),
# the seccomp policy is enforced inside the sandbox (--oci-seccomp), /tmp is a tmpfs sized
# by limits.disk, network "none" still has gVisor's loopback, runsc's own log stays out of
# the gate's streams, and a SIGKILLed gatebox leaves nothing the next run does not sweep.
# timeout: 240
. "$(dirname "$0")/../lib.sh"
only_on gvisor

make_profile specifics <<EOF2
name = "e2e-gvisor-specifics"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", "echo kernel=\$(uname -r); grep Seccomp: /proc/self/status; df -k /tmp | tail -n 1; echo ifaces: \$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '); echo $MARKER"]
[limits]
timeout = "60s"
disk = "8MiB"
EOF2

gb_run "$PROFILE"
expect_exit 0
expect_stdout_has "$MARKER"
# gVisor's kernel reports itself as Linux 4.4.0, whatever the host runs.
expect_stdout_has "kernel=4.4.0"
[ "$(uname -r)" = 4.4.0 ] || expect_stdout_lacks "kernel=$(uname -r)"
# Filter mode 2: the OCI seccomp policy is installed on the gate's processes inside gVisor.
grep -qE '^Seccomp:[[:space:]]+2$' "$T/stdout" || fail "expected the gate to run under a seccomp filter (Seccomp: 2)"
# /tmp: 8 MiB = 8192 KiB.
grep -qE '^[^ ]+ +8192 ' "$T/stdout" || fail "expected /tmp to be an 8192 KiB tmpfs"
expect_stdout_has "ifaces: lo"
# runsc writes its own messages to its --log file, never into the gate's streams.
! grep -qE '"level"|runsc' "$T/stderr" || fail "runsc's log leaked into the gate's stderr"
expect_no_leftovers

# Unconfined: no filter at all inside the sandbox.
gb_run "$PROFILE" --set 'seccomp.profile="unconfined"' -- /bin/sh -c "grep Seccomp: /proc/self/status"
expect_exit 0
grep -qE '^Seccomp:[[:space:]]+0$' "$T/stdout" || fail "expected no seccomp filter when unconfined"
expect_no_leftovers

# A platform this runsc does not have is refused before anything starts.
if ! runsc flags 2>&1 | grep -q systrap; then
  gb_run "$PROFILE" --set 'stack.gvisor.platform="systrap"'
  expect_exit 69
  expect_stderr_has "systrap"
  expect_no_leftovers
fi

# SIGKILL to gatebox: runsc dies with it (PR_SET_PDEATHSIG), and the next run sweeps the
# state dir and the cgroup it left.
gb_start "$PROFILE" -- /fixtures/sleeper "$MARKER"
for _ in $(seq 300); do
  grep -q "sleeper: sleeping" "$T/stdout" 2>/dev/null && break
  sleep 0.1
done
grep -q "sleeper: sleeping" "$T/stdout" || fail "the gate did not start"
kill -KILL "$GB_PID"
wait "$GB_PID" 2>/dev/null || true
sleep 1
ls -d "$GB_CACHE"/run/gvisor-* >/dev/null 2>&1 || fail "expected the killed run's state dir to be left for the sweep"
gb_run "$PROFILE" -v -- /bin/true
expect_exit 0
expect_stderr_has "swept"
expect_no_leftovers
pass
