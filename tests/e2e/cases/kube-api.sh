#!/usr/bin/env bash
# The kubernetes stack's own ways to fail and its own commands, against the test cluster:
# - `gatebox stacks` names the server's version, the namespace and its RuntimeClasses;
# - a RuntimeClass the cluster has (runc) runs; one it lacks is refused before any Job;
# - a pod no node can take (4 TiB of memory), an image it cannot pull: 70 at once, why;
# - RBAC: a user who may only read Jobs gets 69, naming the verb to grant;
# - an unreachable API server, an unreachable registry: 69, one line each;
# - an API server that drops a hardening field of the Job (the test cluster's second one,
#   which drops emptyDir.sizeLimit): 69, the field named, the Job deleted before it ran;
# - `gatebox export kubernetes` prints the Job that `run` submits: restricted, by digest.
# What this 1.20 cluster cannot show is skipped here with the reason: gVisor through a
# RuntimeClass (Debian's runsc has no containerd shim; set GATEBOX_K8S_RUNTIME_CLASS to run
# it against a cluster that has one).
. "$(dirname "$0")/../lib.sh"
only_on kubernetes

make_profile api <<EOF2
name = "e2e-kube-api"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", "echo ran-$MARKER"]
[limits]
timeout = "60s"
EOF2

"$GATEBOX" stacks >"$T/stacks" 2>&1 || fail "gatebox stacks failed: $(cat "$T/stacks")"
python3 - "$T/stacks" <<'PY' || fail "gatebox stacks lacks the cluster's details: $(sed -n '/^kubernetes/,/^[a-z]/p' "$T/stacks")"
import re, sys
text = open(sys.argv[1]).read()
block = text[text.index("kubernetes "):]
assert re.search(r"kubernetes\s+v1\.\d+", block), block
assert re.search(r"namespace\s+\S+", block), block
assert "runtime classes" in block, block
PY

# A RuntimeClass the cluster has: the test cluster makes "runc" (tests/k8s/cluster.sh);
# asked of the cluster itself, not of gatebox's own listing.
has_runc_class=false
if [ -n "${GATEBOX_K8S_API:-}" ] && [ -r "${GATEBOX_K8S_ADMIN_TOKEN_FILE:-}" ]; then
  code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$GATEBOX_K8S_CA" \
    -H "Authorization: Bearer $(cat "$GATEBOX_K8S_ADMIN_TOKEN_FILE")" \
    "$GATEBOX_K8S_API/apis/node.k8s.io/v1/runtimeclasses/runc") || fail "could not ask the cluster for RuntimeClass runc"
  case $code in
    200) has_runc_class=true ;;
    404) ;;
    *) fail "the cluster answered $code for RuntimeClass runc" ;;
  esac
  $has_runc_class || fail "the test cluster has no RuntimeClass runc (tests/k8s/cluster.sh makes one)"
else
  echo "NOTE: not the test cluster: the RuntimeClass check is skipped"
fi
if $has_runc_class; then
  grep -q "runc (runc)" "$T/stacks" || fail "gatebox stacks does not list the cluster's RuntimeClass runc"
  gb_run "$PROFILE" --set 'stack.kubernetes.runtime_class="runc"'
  expect_exit 0
  expect_stdout_has "ran-$MARKER"
fi
gb_run "$PROFILE" --set "stack.kubernetes.runtime_class=\"nope-${MARKER:6:8}\""
expect_exit 69
expect_stderr_has "has no RuntimeClass"
expect_no_leftovers

# A pod no node can take fails fast (after the classifier's 10 s grace), with the reason.
gb_run "$PROFILE" --set 'limits.memory="4TiB"'
expect_exit 70
expect_stderr_has "unschedulable"
expect_no_leftovers

# An image the nodes cannot pull fails fast: a registry on this host's loopback takes the
# push, but 127.0.0.1 inside the cluster's network namespace is the node's own loopback.
if command -v docker-registry >/dev/null; then
  port=5078
  mkdir -p "$T/registry"
  printf 'version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
    "$T/registry" "$port" >"$T/registry.yml"
  docker-registry serve "$T/registry.yml" >"$T/registry.log" 2>&1 &
  registry_pid=$!
  for _ in $(seq 1 600); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    kill -0 "$registry_pid" 2>/dev/null || fail "docker-registry did not start: $(tail -n 5 "$T/registry.log")"
    sleep 0.1
  done
  gb_run "$PROFILE" --set "stack.kubernetes.registry=\"http://127.0.0.1:$port/gates\""
  kill "$registry_pid" 2>/dev/null || true
  wait "$registry_pid" 2>/dev/null || true
  expect_exit 70
  expect_stderr_has "image pull failed"
  expect_no_leftovers
else
  echo "SKIPPED PART: image pull errors: docker-registry is not installed"
fi

# A user who may read Jobs but not create them.
if [ -n "${GATEBOX_K8S_VIEWER_KUBECONFIG:-}" ]; then
  gb_run "$PROFILE" --set "stack.kubernetes.kubeconfig=\"$GATEBOX_K8S_VIEWER_KUBECONFIG\""
  expect_exit 69
  expect_stderr_has "forbidden"
  expect_stderr_has '"create"'
  expect_no_leftovers
else
  echo "NOTE: GATEBOX_K8S_VIEWER_KUBECONFIG is not set: the RBAC check is skipped"
fi

# An API server that drops a hardening field: refused before the gate runs, nothing left.
if [ -n "${GATEBOX_K8S_OLD_KUBECONFIG:-}" ]; then
  gb_run "$PROFILE" --set "stack.kubernetes.kubeconfig=\"$GATEBOX_K8S_OLD_KUBECONFIG\""
  expect_exit 69
  expect_stderr_has "dropped hardening fields"
  expect_stderr_has "/spec/template/spec/volumes"
  expect_stdout_lacks "ran-$MARKER"
  expect_no_leftovers
else
  skip "GATEBOX_K8S_OLD_KUBECONFIG is not set (tests/k8s/cluster.sh env): the dropped-field check cannot run"
fi

# Nothing answers: at the API server, at the registry.
cat >"$T/dead-kubeconfig" <<EOF2
apiVersion: v1
kind: Config
clusters:
- name: dead
  cluster:
    server: https://127.0.0.1:1
    insecure-skip-tls-verify: true
users:
- name: nobody
  user:
    token: none
contexts:
- name: dead
  context: {cluster: dead, user: nobody, namespace: gates}
current-context: dead
EOF2
gb_run "$PROFILE" --set "stack.kubernetes.kubeconfig=\"$T/dead-kubeconfig\""
expect_exit 69
expect_stderr_has "127.0.0.1:1"
[ "$(grep -c 'gatebox: ' "$T/stderr")" -le 2 ] || fail "expected one line for an unreachable API server"
gb_run "$PROFILE" --set 'stack.kubernetes.registry="http://127.0.0.1:1/gates"'
expect_exit 69
expect_stderr_has "127.0.0.1:1"
expect_no_leftovers

# export: the same Job, by digest, restricted.
"$GATEBOX" export kubernetes "$PROFILE" --cache-dir "$GB_CACHE" \
  --set "stack.kubernetes.registry=\"$GATEBOX_K8S_REGISTRY\"" >"$T/job.json" 2>"$T/export.err" ||
  fail "gatebox export kubernetes failed: $(cat "$T/export.err")"
python3 - "$T/job.json" <<'PY' || fail "the exported Job is not as expected: $(head -c 3000 "$T/job.json")"
import json, sys
job = json.load(open(sys.argv[1]))
spec = job["spec"]
pod = spec["template"]["spec"]
c = pod["containers"][0]
assert job["kind"] == "Job" and spec["backoffLimit"] == 0, spec
assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False, pod
assert pod["enableServiceLinks"] is False, pod
assert "@sha256:" in c["image"], c["image"]
sc = c["securityContext"]
assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True, sc
assert sc["capabilities"]["drop"] == ["ALL"] and sc["runAsNonRoot"] is True, sc
assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", pod
assert c["resources"]["limits"]["memory"] and c["resources"]["limits"]["ephemeral-storage"], c
PY
"$GATEBOX" export kubernetes "$PROFILE" --no-push --cache-dir "$GB_CACHE" \
  --set 'stack.kubernetes.registry="registry.invalid/gates"' >"$T/job2.json" 2>"$T/export2.err" ||
  fail "gatebox export kubernetes --no-push failed: $(cat "$T/export2.err")"
grep -q '"registry.invalid/gates@sha256:' "$T/job2.json" || fail "--no-push: no image by digest in the manifest"

if [ -n "${GATEBOX_K8S_RUNTIME_CLASS:-}" ]; then
  gb_run "$PROFILE" --set "stack.kubernetes.runtime_class=\"$GATEBOX_K8S_RUNTIME_CLASS\"" -- /bin/sh -c 'dmesg 2>/dev/null | head -n 3; echo ran'
  expect_exit 0
  expect_stdout_has ran
  expect_no_leftovers
else
  echo "SKIPPED PART: gVisor (or Kata) through a RuntimeClass: Debian's runsc has no containerd-shim-runsc-v1; set GATEBOX_K8S_RUNTIME_CLASS to a RuntimeClass of your cluster to run it"
fi
echo "SKIPPED PART: a Job whose hardening fields an older API server dropped: 1.20 keeps every field gatebox sets (covered by tests/unit/kube_job_test.cpp)"
pass
