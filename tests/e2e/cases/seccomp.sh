#!/usr/bin/env bash
# The seccomp policy: the default profile refuses what Docker's does (EPERM); allow/deny
# move single calls; action = "kill" kills the gate with SIGSYS, which fails it.
. "$(dirname "$0")/../lib.sh"

make_profile seccomp <<EOF2
name = "e2e-seccomp"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", "/fixtures/sysprobe mount unshare-user keyctl bpf getcwd", "$MARKER"]
[limits]
timeout = "60s"
EOF2

gb_run "$PROFILE"
expect_exit 0
expect_stdout_has "mount denied EPERM"
expect_stdout_has "unshare-user denied EPERM"
expect_stdout_has "keyctl denied EPERM"
expect_stdout_has "bpf denied EPERM"
expect_stdout_has "getcwd ok"

# Threads: pthread_create (clone3, then clone with thread flags) works under the default
# policy on every stack, as Go, Java, Node and threaded Python gates need.
gb_run "$PROFILE" -- /fixtures/sysprobe --thread getcwd
expect_exit 0
expect_stdout_has "getcwd ok"
expect_stdout_lacks "pthread_create"

if [ "$GATEBOX_STACK" = kubernetes ]; then
  # The cluster's profile decides (RuntimeDefault, or the operator's Localhost profile):
  # gatebox refuses lists it cannot apply, and a Localhost profile the node lacks fails the
  # run before the gate starts.
  gb_run "$PROFILE" --set 'seccomp.allow=["add_key", "keyctl"]' -- /fixtures/sysprobe keyctl
  expect_exit 64
  expect_stderr_has "cannot change"
  # The test cluster's kubelet has gatebox's default policy (gatebox export seccomp) as
  # gatebox/default.json: with it the pod gets the same answers as every other stack.
  gb_run "$PROFILE" --set 'stack.kubernetes.seccomp="Localhost"' \
    --set 'stack.kubernetes.seccomp_profile="gatebox/default.json"' \
    -- /fixtures/sysprobe mount unshare-user unshare-mount unshare-net setns keyctl bpf perf_event_open \
    socket-vsock socket-vsock-wide socket-alg getcwd
  expect_exit 0
  for call in mount unshare-user unshare-mount unshare-net setns keyctl bpf perf_event_open socket-vsock \
    socket-vsock-wide socket-alg; do
    expect_stdout_has "$call denied EPERM"
  done
  expect_stdout_has "getcwd ok"
  gb_run "$PROFILE" --set 'stack.kubernetes.seccomp="Localhost"' \
    --set 'stack.kubernetes.seccomp_profile="gatebox/default.json"' -- /fixtures/sysprobe --thread getcwd
  expect_exit 0
  expect_stdout_has "getcwd ok"
  gb_run "$PROFILE" --set 'stack.kubernetes.seccomp="Localhost"' \
    --set "stack.kubernetes.seccomp_profile=\"gatebox/missing-$MARKER.json\""
  expect_exit 70
  expect_stderr_has "could not start"
  expect_stderr_has "seccomp"
  expect_no_leftovers
  pass "RuntimeDefault and Localhost profiles; lists refused; a missing profile fails fast"
fi

# sysprobe's keyctl probe calls add_key; allowing the keyring calls lifts the filter's EPERM.
gb_run "$PROFILE" --set 'seccomp.allow=["add_key", "keyctl"]' -- /fixtures/sysprobe keyctl
expect_exit 0
if [ "$GATEBOX_STACK" = gvisor ]; then
  # gVisor has no keyrings: add_key answers EACCES from the Sentry, not the filter's EPERM.
  expect_stdout_has "keyctl denied EACCES"
else
  expect_stdout_has "keyctl ok"
fi

gb_run "$PROFILE" --set 'seccomp.deny=["getcwd"]' -- /fixtures/sysprobe getcwd
expect_exit 0
expect_stdout_has "getcwd denied EPERM"

# kill: the denied call ends the gate itself (--no-fork), and that is a failure.
gb_run "$PROFILE" --set 'seccomp.action="kill"' -- /fixtures/sysprobe --no-fork keyctl
expect_exit 1
expect_report verdict fail
expect_report signal 31
expect_stdout_lacks "keyctl ok"
expect_no_leftovers
pass
