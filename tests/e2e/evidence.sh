#!/usr/bin/env bash
# The evidence commands (docs/ARCHITECTURE.md §3.5), as their own CTest entries (label
# "evidence"):
#   evidence.sh probe-native   the native stack's probe matrix matches what it grants
#   evidence.sh bench-json     bench's JSON has every field for every available stack
#   evidence.sh unavailable    an unavailable stack is a result with its reason, exit 0
# Environment: GATEBOX, GATEBOX_CACHE, GATEBOX_SOURCE_DIR; GATEBOX_BUSYBOX_IMAGE for bench.
set -euo pipefail

check=${1:?usage: evidence.sh probe-native|bench-json|unavailable}
for var in GATEBOX GATEBOX_CACHE GATEBOX_SOURCE_DIR; do
  [ -n "${!var:-}" ] || { echo "FAIL: $var is not set: run through ctest" >&2; exit 1; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/gatebox-evidence.XXXXXX")
trap 'rm -rf "$T"' EXIT
mkdir -p "$GATEBOX_CACHE"

fail() { echo "FAIL: evidence $check: $*" >&2; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/required.sh"
# skip STACK REASON: a failure when STACK is required here.
skip() { local stack=$1; shift; skip_or_fail "evidence $check" "$stack" "$@"; }

# "yes" or "no<TAB>reason" for a stack, from `gatebox stacks --json STACK` (exit 69 when
# unavailable).
stack_status() {
  { "$GATEBOX" stacks --json "$1" || [ $? = 69 ]; } | python3 -c '
import json, sys
for s in json.load(sys.stdin)["stacks"]:
    if s["name"] == sys.argv[1]:
        print("yes" if s["available"] else "no\t" + s["reason"])' "$1"
}

case $check in
probe-native)
  status=$(stack_status native)
  [ "$status" = yes ] || skip native "native is unavailable: ${status#*$'\t'}"
  "$GATEBOX" probe --stack native --json --cache-dir "$GATEBOX_CACHE" >"$T/probe.json" 2>"$T/err" ||
    fail "gatebox probe exited with $?: $(cat "$T/err")"
  # What native grants a gate that runs as uid 0: no capabilities at all, no_new_privs, no
  # user namespace of its own (so uid 0 is the host's, capability-less), seccomp per policy.
  python3 - "$T/probe.json" <<'PY'
import json, sys

m = json.load(open(sys.argv[1]))
cols = {(c["stack"], c["policy"]): c for c in m["columns"]}
problems = []

def sysctl(path):
    try:
        return open(path).read().strip()
    except OSError:
        return None

def expect(policy, feature, status, errno=None, why=""):
    col = cols.get(("native", policy))
    if col is None or not col["ran"]:
        problems.append(f"native/{policy} did not run: {col and col['reason']}")
        return
    cell = col["results"].get(feature)
    if cell is None:
        problems.append(f"native/{policy}: no result for {feature}")
        return
    if cell["status"] != status or (errno and cell["errno"] != errno):
        problems.append(f"native/{policy} {feature}: expected {status} {errno or ''} ({why}), "
                        f"got {cell['status']} {cell['errno']}: {cell['detail']}")

for policy in ("default", "unconfined"):
    col = cols.get(("native", policy))
    if col and col["ran"]:
        missing = [f for f in m["features"] if f not in col["results"]]
        if missing:
            problems.append(f"native/{policy} lacks {missing}")

# The default policy (Docker's allowlist) leaves these out.
for f in ("bpf", "keyctl", "unshare_user", "unshare_mount", "unshare_net"):
    expect("default", f, "denied", "EPERM", "not in the default seccomp allowlist")
expect("default", "mount_tmpfs", "denied", "EPERM", "mount is not in the default allowlist")
# ...and allows these, which need no capability.
expect("default", "ptrace", "works", None, "ptrace of one's own child is allowed")
expect("default", "process_vm_readv", "works", None, "allowed, same uid")

# Unconfined: only the kernel's own rules for a process without capabilities remain.
bpf_off = sysctl("/proc/sys/kernel/unprivileged_bpf_disabled")
if bpf_off in (None, "0"):
    expect("unconfined", "bpf", "works", None, "unprivileged bpf is enabled on this host")
else:
    expect("unconfined", "bpf", "denied", "EPERM", f"kernel.unprivileged_bpf_disabled={bpf_off} and no CAP_BPF")
expect("unconfined", "keyctl", "works", None, "keyrings need no capability")
expect("unconfined", "unshare_mount", "denied", "EPERM", "no CAP_SYS_ADMIN")
expect("unconfined", "mount_tmpfs", "denied", "EPERM", "no CAP_SYS_ADMIN")
expect("unconfined", "unshare_net", "denied", "EPERM", "no CAP_SYS_ADMIN")

for policy in ("default", "unconfined"):
    # no_new_privs is always set: exec never honours a set-uid bit.
    expect(policy, "setuid", "denied", None, "no_new_privs")
    expect(policy, "kvm", "absent", None, "native passes no /dev/kvm")

if problems:
    print("\n".join(problems))
    sys.exit(1)
print("native matrix as expected")
PY
  ;;

bench-json)
  image=${GATEBOX_BUSYBOX_IMAGE:-$GATEBOX_SOURCE_DIR/rootfs/build/busybox.tar.zst}
  [ -f "$image" ] || skip any "the sample rootfs $image is missing (make rootfs)"
  sed "s|^image = .*|image = \"$image\"|" "$GATEBOX_SOURCE_DIR/bench/true.toml" >"$T/true.toml"
  stacks=(--stack native)
  if command -v docker >/dev/null && timeout 10 docker info >/dev/null 2>&1; then
    stacks+=(--stack docker)
  fi
  stacks+=(--stack firecracker)
  "$GATEBOX" bench "$T/true.toml" "${stacks[@]}" --runs 2 --parallel 2 --json --cache-dir "$GATEBOX_CACHE" \
    >"$T/bench.json" 2>"$T/err" || fail "gatebox bench exited with $?: $(cat "$T/err")"
  "$GATEBOX" stacks --json >"$T/stacks.json"
  python3 - "$T/bench.json" "$T/stacks.json" <<'PY'
import json, sys

b = json.load(open(sys.argv[1]))
available = {s["name"]: s["available"] for s in json.load(open(sys.argv[2]))["stacks"]}
problems = []
for key in ("profile", "runs", "parallel", "stacks"):
    if key not in b:
        problems.append(f"no top-level {key}")
if b.get("runs") != 2 or b.get("parallel") != 2:
    problems.append(f"runs/parallel are {b.get('runs')}/{b.get('parallel')}, asked 2/2")
stats = ("start_ms", "wall_ms", "cpu_ms", "max_rss_kib")
scalars = ("runs", "failed_runs", "parallel", "parallel_runs", "parallel_elapsed_s", "evaluations_per_minute")
seen = set()
for s in b["stacks"]:
    name = s["stack"]
    seen.add(name)
    if s["available"] != available.get(name):
        problems.append(f"{name}: available={s['available']} but gatebox stacks says {available.get(name)}")
    if not s["available"]:
        if not s.get("reason"):
            problems.append(f"{name}: unavailable without a reason")
        continue
    if s.get("reason"):
        problems.append(f"{name}: available but not measured: {s['reason']}")
        continue
    for f in scalars:
        if not isinstance(s.get(f), (int, float)):
            problems.append(f"{name}: {f} missing or not a number")
    for f in stats:
        v = s.get(f)
        if not isinstance(v, dict) or not all(isinstance(v.get(k), (int, float)) for k in ("median", "p95")):
            problems.append(f"{name}: {f} lacks a numeric median and p95")
        elif v["p95"] < v["median"] or v["median"] <= 0:
            problems.append(f"{name}: {f} = {v}: p95 below the median, or nothing measured")
    if s.get("runs") != 2 or s.get("failed_runs") != 0:
        problems.append(f"{name}: runs={s.get('runs')} failed_runs={s.get('failed_runs')}; expected 2 and 0")
    if s.get("parallel_runs") != 4:
        problems.append(f"{name}: parallel_runs={s.get('parallel_runs')}; expected max(2, 2*2) = 4")
    if s.get("wall_ms", {}).get("median", 0) < s.get("start_ms", {}).get("median", 0):
        problems.append(f"{name}: the wall time is shorter than the cold start")
if "native" not in seen or "firecracker" not in seen:
    problems.append(f"stacks in the output: {sorted(seen)}")
if problems:
    print("\n".join(problems))
    sys.exit(1)
print("bench JSON complete for", sorted(seen))
PY
  ;;

unavailable)
  # Any stack that is unavailable here; firecracker needs /dev/kvm, which CI hosts lack.
  stack=$("$GATEBOX" stacks --json | python3 -c '
import json, sys
off = [s["name"] for s in json.load(sys.stdin)["stacks"] if not s["available"]]
print("firecracker" if "firecracker" in off else (off[0] if off else ""))')
  [ -n "$stack" ] || not_applicable "evidence $check" "every stack is available on this host"
  reason=$(stack_status "$stack")
  reason=${reason#*$'\t'}
  # `gatebox stacks STACK`: that stack alone, and exit 69; with an available one beside it,
  # still 69; an available one alone, 0; an unknown name, a usage error.
  rc=0
  "$GATEBOX" stacks "$stack" >"$T/one.txt" 2>"$T/err" || rc=$?
  [ "$rc" = 69 ] || fail "gatebox stacks $stack exited with $rc, expected 69: $(cat "$T/err")"
  grep -qF -- "$stack" "$T/one.txt" && grep -qF -- "$reason" "$T/one.txt" || fail "gatebox stacks $stack lacks the reason:
$(cat "$T/one.txt")"
  [ "$(grep -c '^[a-z]' "$T/one.txt")" = 2 ] || fail "gatebox stacks $stack lists other stacks:
$(cat "$T/one.txt")"
  if [ "$(stack_status native)" = yes ]; then
    rc=0
    "$GATEBOX" stacks --json native "$stack" >"$T/two.json" 2>"$T/err" || rc=$?
    [ "$rc" = 69 ] || fail "gatebox stacks native $stack exited with $rc, expected 69"
    python3 -c 'import json, sys; assert [s["name"] for s in json.load(open(sys.argv[1]))["stacks"]] == ["native", sys.argv[2]]' \
      "$T/two.json" "$stack" || fail "gatebox stacks --json native $stack: $(cat "$T/two.json")"
    "$GATEBOX" stacks native >/dev/null 2>"$T/err" || fail "gatebox stacks native exited with $?: $(cat "$T/err")"
  fi
  rc=0
  "$GATEBOX" stacks nosuchstack >/dev/null 2>"$T/err" || rc=$?
  [ "$rc" = 64 ] || fail "gatebox stacks nosuchstack exited with $rc, expected 64 (usage)"
  "$GATEBOX" probe --stack "$stack" --cache-dir "$GATEBOX_CACHE" >"$T/probe.txt" 2>"$T/err" ||
    fail "probe of the unavailable $stack exited with $?: $(cat "$T/err")"
  grep -qF -- "$stack: $reason" "$T/probe.txt" || fail "probe's text lacks '$stack: $reason':
$(cat "$T/probe.txt")"
  "$GATEBOX" probe --stack "$stack" --json --cache-dir "$GATEBOX_CACHE" >"$T/probe.json" 2>"$T/err" ||
    fail "probe --json of the unavailable $stack exited with $?: $(cat "$T/err")"
  python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))["columns"]
assert len(c) == 1 and c[0]["stack"] == sys.argv[2] and c[0]["ran"] is False and c[0]["reason"] == sys.argv[3], c' \
    "$T/probe.json" "$stack" "$reason" || fail "probe's JSON for $stack is not one column with the reason"
  printf 'name = "x"\n[rootfs]\ndir = "/"\n[run]\nargv = ["/bin/true"]\n' >"$T/x.toml"
  "$GATEBOX" bench "$T/x.toml" --stack "$stack" --runs 1 --json >"$T/bench.json" 2>"$T/err" ||
    fail "bench of the unavailable $stack exited with $?: $(cat "$T/err")"
  python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["stacks"]
assert len(s) == 1 and s[0]["available"] is False and s[0]["reason"] == sys.argv[3] and "wall_ms" not in s[0], s' \
    "$T/bench.json" "$stack" "$reason" || fail "bench's JSON for $stack is not the reason"
  echo "the unavailable $stack appears with its reason: $reason"
  ;;
*)
  fail "unknown check"
  ;;
esac
