#!/usr/bin/env bash
# bench/gvisor.sh — what gatebox's gvisor stack costs per run next to a hand-written
# `runsc run` on the same kind of bundle, in one hyperfine session:
#   gatebox      gatebox run bench/true.toml --stack gvisor (default seccomp policy)
#   gatebox-nf   the same with seccomp.profile = "unconfined" (no --oci-seccomp filter)
#   runsc        runsc run on a bundle written here: the same cached tree read-only under
#                --overlay2=root:memory, /tmp tmpfs, the same limits and cgroup parent,
#                /bin/true, no seccomp
# and the ratios of the medians. Target: gatebox-nf within 1.1x of runsc.
# Environment: GATEBOX (default build/gatebox), RUNS (20), WARMUP (2), PLATFORM (ptrace),
# OUT (a JSON file to keep).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
gatebox=${GATEBOX:-$repo/build/gatebox}
image=$repo/rootfs/build/busybox.tar.zst
runs=${RUNS:-20}
warmup=${WARMUP:-2}
platform=${PLATFORM:-ptrace}

for tool in hyperfine runsc python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (sudo make deps)" >&2; exit 69; }
done
[ "$(id -u)" = 0 ] || { echo "bench: runsc needs root" >&2; exit 69; }
[ -x "$gatebox" ] || { echo "bench: $gatebox is missing (make build)" >&2; exit 69; }
[ -f "$image" ] || { echo "bench: $image is missing (make rootfs)" >&2; exit 69; }

work=$(mktemp -d "${TMPDIR:-/tmp}/gatebox-bench.XXXXXX")
trap 'runsc --root "$work/state" delete --force bench-runsc >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
cache=$work/cache
set_platform="--set=stack.gvisor.platform=\"$platform\""
# hyperfine -N splits its commands like a shell: the TOML strings keep their quotes in ''.
hf_platform="--set=stack.gvisor.platform='\"$platform\"'"

if ! "$gatebox" run "$repo/bench/true.toml" --stack gvisor "$set_platform" --cache-dir "$cache" -q >/dev/null; then
  echo "bench: the gate does not pass on the gvisor stack; nothing to measure" >&2
  exit 1
fi
tree=$("$gatebox" cache list --cache-dir "$cache" 2>/dev/null | awk 'NF >= 3 {print $NF; exit}')
[ -n "$tree" ] && [ -x "$tree/bin/busybox" ] || { echo "bench: no cached tree in $cache" >&2; exit 1; }

mkdir -p "$work/bundle" "$work/state"
python3 - "$tree" "$work/bundle/config.json" <<'PY'
import json, sys
tree, out = sys.argv[1], sys.argv[2]
caps = {k: [] for k in ("bounding", "effective", "inheritable", "permitted", "ambient")}
config = {
    "ociVersion": "1.0.2",
    "process": {"terminal": False, "user": {"uid": 65534, "gid": 65534}, "args": ["/bin/true"],
                "env": ["PATH=/usr/local/bin:/usr/bin:/bin"], "cwd": "/", "capabilities": caps,
                "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}], "noNewPrivileges": True},
    "root": {"path": tree, "readonly": True},
    "hostname": "gatebox",
    "mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755", "size=65536k"]},
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777", "size=1073741824"]},
    ],
    "linux": {
        "namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "network")],
        "resources": {"memory": {"limit": 1 << 30, "swap": 1 << 30}, "pids": {"limit": 512},
                      "cpu": {"quota": 100000, "period": 100000}},
        "cgroupsPath": "/gatebox/bench-runsc",
    },
}
json.dump(config, open(out, "w"))
PY

runsc_cmd="runsc --root=$work/state --log=$work/runsc.log --platform=$platform --network=none --overlay2=root:memory run --bundle $work/bundle bench-runsc"
$runsc_cmd || { echo "bench: the hand-written runsc bundle does not run" >&2; exit 1; }

hyperfine -N --style basic --warmup "$warmup" --runs "$runs" --export-json "$work/bench.json" \
  -n gatebox "$gatebox run $repo/bench/true.toml --stack gvisor $hf_platform --cache-dir $cache -q --log-format plain" \
  -n gatebox-nf "$gatebox run $repo/bench/true.toml --stack gvisor $hf_platform --set=seccomp.profile='\"unconfined\"' --cache-dir $cache -q --log-format plain" \
  -n runsc "$runsc_cmd"

[ -z "${OUT:-}" ] || cp "$work/bench.json" "$OUT"
python3 - "$work/bench.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
median = {name: results[name]["median"] * 1000 for name in ("gatebox", "gatebox-nf", "runsc")}
print()
for name, ms in median.items():
    print("median %-10s %8.1f ms" % (name, ms))
print("gatebox/runsc     %6.2fx" % (median["gatebox"] / median["runsc"]))
print("gatebox-nf/runsc  %6.2fx  (target: within 1.10x)" % (median["gatebox-nf"] / median["runsc"]))
PY
