#!/usr/bin/env bash
# bench/real-gate.sh — the cost of a real gate, not of hello: `gatebox bench` of a corpus
# gate (tests/corpus/gates: GATE=c by default, a make build and its tests; or python, go,
# node, shell) on the Debian corpus rootfs, on each stack: wall, CPU, peak memory and
# evaluations per minute. The rootfs is unpacked (and imported, or made an initramfs) by
# the warm-up run, so the figures are those of every later evaluation.
# Environment: GATE (c), STACKS (native docker gvisor qemu), RUNS (5), PARALLEL (2),
# GATEBOX (build/gatebox), JSON=1 for gatebox bench's JSON.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
gatebox=${GATEBOX:-$repo/build/gatebox}
gate=${GATE:-c}
image=$("$repo/tests/corpus/build.sh" --print-path)
gates=$repo/tests/corpus/gates

[ -x "$gatebox" ] || { echo "bench: $gatebox is missing (make build)" >&2; exit 69; }
[ -f "$image" ] || { echo "bench: $image is missing (tests/corpus/build.sh builds it)" >&2; exit 69; }
[ -x "$gates/$gate/gate.sh" ] || { echo "bench: no corpus gate '$gate' (ls $gates)" >&2; exit 64; }

work=$(mktemp -d /var/tmp/gatebox-bench-real.XXXXXX)
trap 'rm -rf "$work"' EXIT
cat >"$work/$gate.toml" <<EOT
name = "corpus-$gate"
[rootfs]
image = "$image"
[run]
argv = ["/corpus/$gate/gate.sh"]
[network]
mode = "loopback"
[limits]
timeout = "300s"
memory = "1GiB"
output = "1MiB"
[[mount]]
source = "$gates/$gate"
target = "/corpus/$gate"
EOT

args=()
for s in ${STACKS:-native docker gvisor qemu}; do args+=(--stack "$s"); done
[ -z "${JSON:-}" ] || args+=(--json)
"$gatebox" bench "$work/$gate.toml" "${args[@]}" --runs "${RUNS:-5}" --parallel "${PARALLEL:-2}" \
  ${GATEBOX_BENCH_CACHE:+--cache-dir "$GATEBOX_BENCH_CACHE"}
