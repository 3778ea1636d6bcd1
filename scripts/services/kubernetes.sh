#!/usr/bin/env bash
# scripts/services/kubernetes.sh start|stop — a single-node Kubernetes 1.20 and an OCI
# registry for the kubernetes stack's tests (tests/k8s/cluster.sh does the work).
#   start: exit 3 when an apiserver already answers at 10.217.0.2:6443 (not ours to stop);
#          otherwise builds the cluster once (cached; the first build takes ~15 min), starts
#          it and exits 0. Any other exit status: it could not start here, and the reason
#          was printed. `tests/k8s/cluster.sh env` prints the variables the tests read.
#   stop:  stops only what start started and removes its state (the build cache stays).
# Environment: GATEBOX_SKIP_KUBERNETES=1 skips the cluster (start exits 1).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cluster=$here/../../tests/k8s/cluster.sh
api=https://10.217.0.2:6443

answers() {
  # Without our veth the address is routed off the host, and some networks answer any TCP
  # port there; so only an apiserver's own answer counts (version, or a 401/403 Status).
  ip link show e2ek8s0 >/dev/null 2>&1 || return 1
  curl -ks --noproxy '*' --max-time 2 "$api/version" 2>/dev/null | jq -e '.gitVersion or .kind == "Status"' >/dev/null 2>&1
}

start() {
  if [ "${GATEBOX_SKIP_KUBERNETES:-}" = 1 ]; then
    echo "kubernetes: skipped (GATEBOX_SKIP_KUBERNETES=1)"
    exit 1
  fi
  if answers; then
    echo "kubernetes: an apiserver already answers at $api"
    exit 3
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "kubernetes: starting a cluster needs root; the kubernetes stack's tests will skip"
    exit 1
  fi
  local missing=()
  for cmd in go etcd containerd runc ctr docker-registry htpasswd openssl curl jq nsenter ip iptables gcc; do
    command -v "$cmd" >/dev/null || missing+=("$cmd")
  done
  [ -x /usr/lib/cni/bridge ] || missing+=("/usr/lib/cni/bridge")
  if [ ${#missing[@]} -gt 0 ]; then
    echo "kubernetes: missing ${missing[*]} (run scripts/install-deps.sh); the kubernetes stack's tests will skip"
    exit 1
  fi
  if [ ! -f /var/cache/e2e-k8s/1.20.2/stamp ]; then
    echo "kubernetes: building Kubernetes 1.20.2 from Debian's source package (one-time, ~15 min on 2 cores)"
  fi
  local log=/var/cache/e2e-k8s/service.log
  mkdir -p /var/cache/e2e-k8s
  if ! "$cluster" build >"$log" 2>&1; then
    echo "kubernetes: the build failed; last lines of $log:"
    tail -n 15 "$log" | sed 's/^/    /'
    exit 1
  fi
  if ! "$cluster" start >>"$log" 2>&1; then
    echo "kubernetes: the cluster did not start; last lines of $log:"
    tail -n 15 "$log" | sed 's/^/    /'
    "$cluster" stop >/dev/null 2>&1 || true
    exit 1
  fi
  echo "kubernetes: started a single-node cluster (log $log; tests/k8s/cluster.sh env)"
  exit 0
}

stop() {
  "$cluster" stop
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 64 ;;
esac
