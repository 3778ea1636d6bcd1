#!/usr/bin/env bash
# tests/k8s/smoke.sh — checks a running tests/k8s/cluster.sh cluster end to end with curl:
# pushes busybox to the registry, runs it as a Job in namespace gates (the node pulls over
# plain HTTP), reads the pod's log through the apiserver, checks that the pod reaches
# nothing (apiserver, registry, host side of the veth) and that the viewer may not create
# Jobs. Exit 0 when all hold.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
state=/var/lib/e2e-k8s
api=https://10.217.0.2:6443
rootfs=${1:-$here/../../rootfs/build/busybox.tar.zst}
admin=$(cut -d, -f1 <"$state/pki/admin.token")
viewer=$(awk '/token:/ {print $2}' "$state/kubeconfig-viewer")
job=smoke-$RANDOM
fail=0

kc() { # kc TOKEN METHOD PATH [JSON|""] [CURL-ARGS...]
  local args=(-sS --noproxy '*' --max-time 30 --cacert "$state/pki/ca.crt" -H "Authorization: Bearer $1" -X "$2")
  [ -n "${4:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
  curl "${args[@]}" "${@:5}" "$api$3"
}
check() { if eval "$2"; then echo "ok:   $1"; else echo "FAIL: $1"; fail=1; fi; }
now() { date +%s.%N; }

"$here/push-image.sh" "$rootfs" 10.217.0.2:5000/gates/busybox:1 /bin/sh >/dev/null
echo "pushed 10.217.0.2:5000/gates/busybox:1"

probe='for t in 10.217.0.2:6443 10.244.0.1:6443 10.217.0.2:5000 10.217.0.2:10250 10.217.0.1:22; do
  if nc -w 2 ${t%:*} ${t#*:} </dev/null >/dev/null 2>&1; then echo "reached $t"; else echo "blocked $t"; fi
done; echo done'
body=$(jq -n --arg name "$job" --arg probe "$probe" '{
  apiVersion: "batch/v1", kind: "Job", metadata: {name: $name},
  spec: {backoffLimit: 0, activeDeadlineSeconds: 120, template: {spec: {
    restartPolicy: "Never", automountServiceAccountToken: false,
    containers: [{name: "gate", image: "10.217.0.2:5000/gates/busybox:1",
                  command: ["/bin/sh", "-c", $probe]}]}}}}')
t0=$(now)
code=$(kc "$admin" POST /apis/batch/v1/namespaces/gates/jobs "$body" -o /dev/null -w '%{http_code}')
check "admin creates Job $job (HTTP $code)" '[ "$code" = 201 ]'

status=
for _ in $(seq 600); do
  status=$(kc "$admin" GET "/apis/batch/v1/namespaces/gates/jobs/$job" |
    jq -r '[.status.conditions[]? | select(.status == "True") | .type] | join(",")')
  [ -n "$status" ] && break
  sleep 0.2
done
t1=$(now)
check "Job $job Complete in $(awk "BEGIN {printf \"%.1f\", $t1 - $t0}") s (conditions: $status)" '[ "$status" = Complete ]'

pod=$(kc "$admin" GET "/api/v1/namespaces/gates/pods?labelSelector=job-name%3D$job" | jq -r '.items[0].metadata.name')
log=$(kc "$admin" GET "/api/v1/namespaces/gates/pods/$pod/log")
echo "$log" | sed 's/^/    log: /'
check "pod log readable through the apiserver" 'echo "$log" | grep -q "^done$"'
check "pod reaches nothing" '! echo "$log" | grep -q reached'

vcode=$(kc "$viewer" POST /apis/batch/v1/namespaces/gates/jobs "$body" -o "$state/viewer-post.json" -w '%{http_code}')
check "viewer POST jobs -> 403 ($(jq -r .message "$state/viewer-post.json"))" '[ "$vcode" = 403 ]'
vget=$(kc "$viewer" GET /apis/batch/v1/namespaces/gates/jobs "" -o /dev/null -w '%{http_code}')
check "viewer GET jobs -> 200" '[ "$vget" = 200 ]'

dcode=$(kc "$admin" DELETE "/apis/batch/v1/namespaces/gates/jobs/$job" '{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Foreground"}' -o /dev/null -w '%{http_code}')
for _ in $(seq 150); do
  left=$(kc "$admin" GET "/api/v1/namespaces/gates/pods?labelSelector=job-name%3D$job" | jq '.items | length')
  [ "$left" = 0 ] && break
  sleep 0.2
done
check "Job deleted with Foreground propagation, pod gone (HTTP $dcode, pods left $left)" '[ "$left" = 0 ]'
exit $fail
