#!/usr/bin/env bash
# The gate's namespaces are its own (README: "Security of the native stack", and each
# stack's table row): mount, PID, network, UTS, IPC and cgroup namespaces differ from the
# host's. A namespace the host shares with the gate would let it see or signal host
# processes (pid), reach host IPC objects (ipc) or see the host's cgroup paths (cgroup).
. "$(dirname "$0")/../lib.sh"

skip_on qemu "the gate runs on the guest's own kernel: its namespaces are not the host's, whatever their numbers"
skip_on firecracker "the gate runs on the guest's own kernel: its namespaces are not the host's, whatever their numbers"
namespaces=(mnt pid net uts ipc cgroup)
# gVisor's Sentry is the gate's kernel and shows only its pid and net namespaces in
# /proc/self/ns; the sandbox's host-side namespaces are runsc's (gvisor-specifics).
if [ "$GATEBOX_STACK" = gvisor ]; then
  echo "NOTE: gvisor shows only pid and net in /proc/self/ns"
  namespaces=(pid net)
fi
# On kubernetes the pod's namespaces are the runtime's: containerd on a cgroup v1 host
# gives no cgroup namespace (the pod's cgroup paths are visible, not the host's processes).
if [ "$GATEBOX_STACK" = kubernetes ]; then
  echo "NOTE: cgroup namespace not checked on kubernetes (the cluster's runtime decides it)"
  namespaces=(mnt pid net uts ipc)
fi

script="echo ns-begin-$MARKER;"
for ns in "${namespaces[@]}"; do
  script+=" echo $ns=\$(readlink /proc/self/ns/$ns);"
done
script+=" echo ns-end"

make_profile ns <<EOF2
name = "e2e-namespaces"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", "$script", "$MARKER"]
[limits]
timeout = "60s"
EOF2

gb_run "$PROFILE"
expect_exit 0
expect_stdout_has ns-end
for ns in "${namespaces[@]}"; do
  host=$(readlink "/proc/self/ns/$ns")
  gate=$(sed -n "s/^$ns=//p" "$T/stdout")
  [ -n "$gate" ] || fail "the gate printed no $ns namespace"
  [ "$gate" != "$host" ] || fail "the gate shares the host's $ns namespace ($host)"
  echo "ok: $ns: host $host, gate $gate"
done
expect_no_leftovers
pass
