#!/usr/bin/env bash
# bench/docker.sh — what gatebox's docker stack costs per run, next to what a user would
# type instead: one hyperfine session timing
#   gatebox     gatebox run bench/true.toml --stack docker (image already imported, /bin/true)
#   docker-run  docker run --rm --network none --cap-drop ALL --security-opt no-new-privileges
#               <the same image> /bin/true
# and the ratio gatebox/docker-run of the medians (target: within 1.1x).
# Environment: GATEBOX (default build/gatebox), RUNS (20), WARMUP (2), OUT (a JSON file to keep).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
gatebox=${GATEBOX:-$repo/build/gatebox}
runs=${RUNS:-20}
warmup=${WARMUP:-2}

for tool in hyperfine docker python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (sudo make deps)" >&2; exit 69; }
done
[ -x "$gatebox" ] || { echo "bench: $gatebox is missing (make build)" >&2; exit 69; }
docker info >/dev/null 2>&1 || { echo "bench: no Docker daemon answers (scripts/services/docker.sh start)" >&2; exit 69; }

work=$(mktemp -d "${TMPDIR:-/tmp}/gatebox-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cache=$work/cache

# Warm up once: unpack the rootfs and import it, so every timed run reuses the image.
if ! "$gatebox" run "$repo/bench/true.toml" --stack docker --cache-dir "$cache" -q >/dev/null; then
  echo "bench: the gate does not pass on the docker stack; nothing to measure" >&2
  exit 1
fi
sha=$("$gatebox" cache list --cache-dir "$cache" 2>/dev/null | awk 'NF >= 3 {print $1; exit}')
image=$(docker images --filter label=gatebox.rootfs --format '{{.Repository}}:{{.Tag}}' | grep -m1 ":$sha" || true)
[ -n "$image" ] || { echo "bench: cannot find the imported image gatebox/rootfs:$sha" >&2; exit 1; }

hyperfine -N --style basic --warmup "$warmup" --runs "$runs" --export-json "$work/bench.json" \
  -n gatebox "$gatebox run $repo/bench/true.toml --stack docker --cache-dir $cache -q --log-format plain" \
  -n docker-run "docker run --rm --network none --cap-drop ALL --security-opt no-new-privileges $image /bin/true"

[ -z "${OUT:-}" ] || cp "$work/bench.json" "$OUT"
python3 - "$work/bench.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
median = {name: results[name]["median"] * 1000 for name in ("gatebox", "docker-run")}
print()
for name, ms in median.items():
    print("median %-10s %8.1f ms" % (name, ms))
print("gatebox/docker-run  %5.2fx  (target <= 1.10x)" % (median["gatebox"] / median["docker-run"]))
PY
