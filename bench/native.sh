#!/usr/bin/env bash
# bench/native.sh — what gatebox's native stack costs per run, next to what a user would
# pick instead: one hyperfine session timing
#   gatebox   gatebox run bench/true.toml (cached busybox rootfs, /bin/true)
#   bwrap     bwrap --unshare-all on the same tree, /bin/true
#   bare      /bin/true
# and the ratios gatebox/bwrap and gatebox/bare of the medians.
# Environment: GATEBOX (default build/gatebox), RUNS (30), WARMUP (3), OUT (a JSON file to keep).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
gatebox=${GATEBOX:-$repo/build/gatebox}
image=$repo/rootfs/build/busybox.tar.zst
runs=${RUNS:-30}
warmup=${WARMUP:-3}

for tool in hyperfine bwrap python3 zstd; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (sudo make deps)" >&2; exit 69; }
done
[ -x "$gatebox" ] || { echo "bench: $gatebox is missing (make build)" >&2; exit 69; }
[ -f "$image" ] || { echo "bench: $image is missing (make rootfs)" >&2; exit 69; }

work=$(mktemp -d "${TMPDIR:-/tmp}/gatebox-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cache=$work/cache

# Warm the cache once, so every timed run is a cache hit, and check the gate passes.
if ! "$gatebox" run "$repo/bench/true.toml" --stack native --cache-dir "$cache" -q >/dev/null; then
  echo "bench: the gate does not pass on the native stack; nothing to measure" >&2
  exit 1
fi

# bwrap gets the same tree gatebox unpacked (read-only): the one `cache list` names.
tree=$("$gatebox" cache list --cache-dir "$cache" 2>/dev/null | awk 'NF >= 3 {print $NF; exit}')
if [ -z "$tree" ] || [ ! -x "$tree/bin/busybox" ]; then
  tree=$work/tree
  mkdir "$tree"
  zstd -dc "$image" | tar -x -p -C "$tree" -f -
fi

hyperfine -N --style basic --warmup "$warmup" --runs "$runs" --export-json "$work/bench.json" \
  -n gatebox "$gatebox run $repo/bench/true.toml --stack native --cache-dir $cache -q --log-format plain" \
  -n bwrap "bwrap --unshare-all --ro-bind $tree / --proc /proc --dev /dev --tmpfs /tmp /bin/true" \
  -n bare "/bin/true"

[ -z "${OUT:-}" ] || cp "$work/bench.json" "$OUT"
python3 - "$work/bench.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
median = {name: results[name]["median"] * 1000 for name in ("gatebox", "bwrap", "bare")}
print()
for name, ms in median.items():
    print("median %-8s %8.2f ms" % (name, ms))
print("gatebox/bwrap  %6.2fx" % (median["gatebox"] / median["bwrap"]))
print("gatebox/bare   %6.2fx" % (median["gatebox"] / median["bare"]))
PY
