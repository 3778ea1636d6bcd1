#!/usr/bin/env bash
# network.mode: "none" leaves no interface to reach anything; "loopback" has lo up and
# nothing else. No traffic is ever sent to a non-loopback address: routes are only listed.
. "$(dirname "$0")/../lib.sh"

make_profile net <<EOF2
name = "e2e-network"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", "echo ifaces: \$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\\\\n' ' '); echo routes-begin; ip route; ip -6 route; echo routes-end", "$MARKER"]
[limits]
timeout = "60s"
[network]
mode = "none"
EOF2

# Prints the interface names the gate saw (other than lo) and its routes, one a line.
seen_outside() {
  python3 - "$T/stdout" <<'PY'
import os, sys
out = open(sys.argv[1]).read().splitlines()
for line in out:
    if line.startswith("ifaces:"):
        for name in line.split()[1:]:
            if name != "lo":
                print("interface " + name)
inside = False
for line in out:
    if line == "routes-begin":
        inside = True
    elif line == "routes-end":
        inside = False
    elif inside and line.strip():
        # gVisor's netstack always has lo, with its routes, even under runsc --network=none.
        if os.environ.get("GATEBOX_STACK") == "gvisor" and " dev lo " in line + " ":
            continue
        print("route " + line)
PY
}

if [ "$GATEBOX_STACK" = kubernetes ]; then
  # A pod always has the cluster's interface: what "none" means there is what the cluster's
  # network lets through (tests/k8s/cluster.sh: no route out, the node's addresses dropped).
  # So here traffic is sent, and none of it may arrive: the API server, the registry, the
  # pod bridge's gateway, the host end of the cluster's veth.
  [ -n "${GATEBOX_K8S_FORBIDDEN_TARGETS:-}" ] ||
    skip "GATEBOX_K8S_FORBIDDEN_TARGETS is not set (tests/k8s/cluster.sh env, exported by scripts/test.sh)"
  gb_run "$PROFILE" -- /bin/sh -c "
    for target in $GATEBOX_K8S_FORBIDDEN_TARGETS; do
      if nc -w 3 \${target%:*} \${target#*:} </dev/null >/dev/null 2>&1; then echo REACHED \$target; else echo blocked \$target; fi
    done
    echo probes-done"
  expect_exit 0
  expect_stdout_has probes-done
  expect_stdout_lacks REACHED
  expect_no_leftovers
  gb_run "$PROFILE" --set 'network.mode="loopback"' -- /bin/sh -c "
    (nc -l -p 5555 -e echo pong-$MARKER &)
    sleep 0.5
    nc -w 5 127.0.0.1 5555 </dev/null"
  expect_exit 0
  expect_stdout_has "pong-$MARKER"
  expect_no_leftovers
  pass "kubernetes: nothing reachable beyond the pod"
fi

gb_run "$PROFILE"
expect_exit 0
expect_stdout_has "ifaces:"
expect_stdout_has "routes-end"
outside=$(seen_outside)
[ -z "$outside" ] || fail "network none: the gate could see:
$outside"
expect_no_leftovers

gb_run "$PROFILE" --set 'network.mode="loopback"' -- /bin/sh -c "
  ip link show lo
  (nc -l -p 5555 -e echo pong-$MARKER &)
  sleep 0.5
  nc -w 5 127.0.0.1 5555 </dev/null
  echo ifaces: \$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\\n' ' ')
  echo routes-begin; ip route; echo routes-end"
expect_exit 0
expect_stdout_has "LOOPBACK,UP"
expect_stdout_has "pong-$MARKER"
outside=$(seen_outside)
[ -z "$outside" ] || fail "network loopback: the gate could see:
$outside"
expect_no_leftovers
pass
