#!/usr/bin/env bash
# bench/kubernetes.sh — what a gate costs as a Kubernetes Job, on the local test cluster
# (tests/k8s/cluster.sh; started here when it is not running, stopped again at the end):
#   1. per-gate latency, one hyperfine session:
#        gatebox   gatebox run bench/true.toml --stack kubernetes (image already pushed: HEAD
#                  requests only; Job create + read back, pod followed, log, delete, pods gone)
#        kubectl   what a user would type instead: kubectl create -f <the same Job, from
#                  gatebox export kubernetes>, kubectl wait for Complete, kubectl logs,
#                  kubectl delete and wait until its pod is gone
#      and the ratio of the medians;
#   2. evaluations per minute at PARALLEL gates at a time, kubernetes next to native, from
#      `gatebox bench --json`.
# Environment: GATEBOX (default build/gatebox), RUNS (10), PARALLEL (4), OUT (a JSON file to
# keep, with both parts).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
gatebox=${GATEBOX:-$repo/build/gatebox}
runs=${RUNS:-10}
parallel=${PARALLEL:-4}

for tool in hyperfine kubectl python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (sudo make deps)" >&2; exit 69; }
done
[ -x "$gatebox" ] || { echo "bench: $gatebox is missing (make build)" >&2; exit 69; }

started=0
if ! "$repo/tests/k8s/cluster.sh" status >/dev/null 2>&1; then
  echo "bench: starting the test cluster (tests/k8s/cluster.sh)" >&2
  "$repo/tests/k8s/cluster.sh" build >&2
  "$repo/tests/k8s/cluster.sh" start >&2
  started=1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/gatebox-bench.XXXXXX")
cleanup() {
  rm -rf "$work"
  [ "$started" = 0 ] || "$repo/tests/k8s/cluster.sh" stop >&2 || true
}
trap cleanup EXIT
while IFS= read -r line; do
  case $line in *=*) export "${line?}" ;; esac
done < <("$repo/tests/k8s/cluster.sh" env)
cache=$work/cache

# bench/true.toml with the image path made absolute. The registry is the operator's choice
# (a profile may not name one), so it is given on the command line.
sed "s|\"../rootfs/|\"$repo/rootfs/|" "$repo/bench/true.toml" >"$work/true.toml"
registry=(--set "stack.kubernetes.registry=\"$GATEBOX_K8S_REGISTRY\"")

if ! "$gatebox" run "$work/true.toml" --stack kubernetes "${registry[@]}" --cache-dir "$cache" -q >/dev/null; then
  echo "bench: the gate does not pass on the kubernetes stack; nothing to measure" >&2
  exit 1
fi
"$gatebox" export kubernetes "$work/true.toml" "${registry[@]}" --cache-dir "$cache" -q >"$work/job.json"
ns=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"].get("namespace") or "default")' "$work/job.json")

# The hand-written equivalent: the same Job under a fresh name each time.
cat >"$work/kubectl-run.sh" <<SH
set -euo pipefail
name=kubectl-\$(od -An -N4 -tx1 /dev/urandom | tr -d ' \\n')
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); j["metadata"]["name"]=sys.argv[2]; print(json.dumps(j))' \\
  "$work/job.json" "\$name" | kubectl -n "$ns" create -f - >/dev/null
kubectl -n "$ns" wait --for=condition=complete "job/\$name" --timeout=120s >/dev/null
kubectl -n "$ns" logs "job/\$name" >/dev/null
kubectl -n "$ns" delete job "\$name" --wait=true >/dev/null
kubectl -n "$ns" delete pods -l "job-name=\$name" --grace-period=0 --wait=true >/dev/null 2>&1 || true
SH

hyperfine -N --style basic --warmup 1 --runs "$runs" --export-json "$work/latency.json" \
  -n gatebox "$gatebox run $work/true.toml --stack kubernetes --set 'stack.kubernetes.registry=\"$GATEBOX_K8S_REGISTRY\"' --cache-dir $cache -q --log-format plain" \
  -n kubectl "bash $work/kubectl-run.sh"

"$gatebox" bench "$work/true.toml" --stack native --stack kubernetes --runs "$runs" --parallel "$parallel" \
  --cache-dir "$cache" --json -q >"$work/throughput.json"

python3 - "$work/latency.json" "$work/throughput.json" "${OUT:-}" <<'PY'
import json, sys
lat = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
thr = json.load(open(sys.argv[2]))
g, k = lat["gatebox"]["median"], lat["kubectl"]["median"]
print(f"\nper-gate latency (median): gatebox {g*1000:.0f} ms, kubectl create/wait/logs/delete {k*1000:.0f} ms"
      f" -> gatebox/kubectl = {g/k:.2f}x")
by = {}
for s in thr["stacks"]:
    if not s.get("available") or "wall_ms" not in s:
        print(f"{s['stack']}: not measured: {s.get('reason')}")
        continue
    by[s["stack"]] = s
    print(f"{s['stack']}: cold start median {s['start_ms']['median']:.0f} ms, wall median "
          f"{s['wall_ms']['median']:.0f} ms, {s['evaluations_per_minute']:.0f} evaluations/min "
          f"at {s['parallel']} at a time")
if "native" in by and "kubernetes" in by:
    n, k = by["native"]["evaluations_per_minute"], by["kubernetes"]["evaluations_per_minute"]
    print(f"evaluations per minute, kubernetes/native = {k / n:.3f}" if n else "")
if sys.argv[3]:
    json.dump({"latency": json.load(open(sys.argv[1])), "throughput": thr}, open(sys.argv[3], "w"), indent=2)
PY
