#!/usr/bin/env bash
# bench/first-run.sh — what the first run of a large rootfs costs on each stack, next to
# unpacking the same file by hand, in one session:
#   tar        tar -xzf IMAGE into an empty directory (what a user would do instead)
#   <stack>    gatebox run of /bin/true on IMAGE with an empty cache (on docker the
#              imported image removed too: `gatebox cache clear`), i.e. unpack, then the
#              stack's own preparation (docker: an image import; qemu: the initramfs),
#              then the run; and the same run again with the cache warm
# For each stack: the first run, the warm run, their difference (what the first run adds)
# as a ratio to tar (targets: native <= 1.0x, docker, gvisor, qemu <= 2.0x), and the
# median of the report's timing_ms.prepare over the warm runs (target: < 10 ms).
# Environment: IMAGE (default: the corpus rootfs of tests/corpus/build.sh), STACKS
# (default: native docker gvisor qemu), RUNS (rounds: 3), GATEBOX (default build/gatebox).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
gatebox=${GATEBOX:-$repo/build/gatebox}
runs=${RUNS:-3}
stacks=${STACKS:-native docker gvisor qemu}
image=${IMAGE:-$("$repo/tests/corpus/build.sh" --print-path)}

command -v python3 >/dev/null || { echo "bench: python3 is missing (sudo make deps)" >&2; exit 69; }
[ -x "$gatebox" ] || { echo "bench: $gatebox is missing (make build)" >&2; exit 69; }
[ -f "$image" ] || { echo "bench: $image is missing (tests/corpus/build.sh builds it)" >&2; exit 69; }

work=$(mktemp -d /var/tmp/gatebox-bench-first.XXXXXX)
cleanup() {
  for s in $stacks; do "$gatebox" cache clear --cache-dir "$work/cache-$s" -q >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT
cat >"$work/true.toml" <<EOT
name = "bench-first-run"
[rootfs]
image = "$image"
[run]
argv = ["/bin/true"]
[limits]
timeout = "120s"
EOT

now() { date +%s%N; }
# elapsed START: milliseconds since START (from now).
elapsed() { echo $((($(now) - $1) / 1000000)); }

echo "image: $image ($(du -m "$image" | cut -f1) MB), $runs rounds (tar, then each stack, in turn)"
: >"$work/results"
available=()
for s in $stacks; do
  if "$gatebox" stacks --json "$s" >/dev/null 2>&1; then
    available+=("$s")
  else
    echo "$s: unavailable here (gatebox stacks $s says why); skipped"
  fi
done
# Rounds, so that every contender meets the same disk: a tree just deleted (and discarded)
# by the one before slows the next writer on some virtual disks.
for i in $(seq "$runs"); do
  rm -rf "$work/tree" && mkdir "$work/tree"
  sync
  t=$(now)
  tar -xzf "$image" -C "$work/tree"
  echo "tar first $(elapsed "$t")" >>"$work/results"
  rm -rf "$work/tree"
  for s in "${available[@]}"; do
    cache=$work/cache-$s
    "$gatebox" cache clear --cache-dir "$cache" -q >/dev/null 2>&1 || true
    rm -rf "$cache"
    sync
    t=$(now)
    "$gatebox" run "$work/true.toml" --stack "$s" --cache-dir "$cache" -q >/dev/null 2>&1 ||
      { echo "bench: the first run failed on $s" >&2; exit 1; }
    echo "$s first $(elapsed "$t")" >>"$work/results"
    t=$(now)
    "$gatebox" run "$work/true.toml" --stack "$s" --cache-dir "$cache" -q --report "$work/report.json" >/dev/null 2>&1 ||
      { echo "bench: the warm run failed on $s" >&2; exit 1; }
    echo "$s warm $(elapsed "$t")" >>"$work/results"
    python3 -c 'import json, sys; print(sys.argv[2], "prepare", json.load(open(sys.argv[1]))["timing_ms"]["prepare"])' \
      "$work/report.json" "$s" >>"$work/results"
  done
done

python3 - "$work/results" <<'PY'
import statistics, sys
data = {}
for line in open(sys.argv[1]):
    who, what, ms = line.split()
    data.setdefault(who, {}).setdefault(what, []).append(float(ms))
tar = statistics.median(data["tar"]["first"])
print()
print("%-8s %12s %12s %14s %12s %14s" % ("", "first ms", "warm ms", "first - warm", "/ tar", "prepare ms"))
print("%-8s %12.0f" % ("tar -xzf", tar))
targets = {"native": 1.0}
for who, d in data.items():
    if who == "tar":
        continue
    first, warm = statistics.median(d["first"]), statistics.median(d["warm"])
    extra = first - warm
    target = targets.get(who, 2.0)
    print("%-8s %12.0f %12.0f %14.0f %11.2fx %14.1f   (targets: <= %.1fx, prepare < 10 ms)" % (
        who, first, warm, extra, extra / tar, statistics.median(d["prepare"]), target))
PY
