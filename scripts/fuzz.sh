#!/usr/bin/env bash
# fuzz.sh [SECONDS] — builds the libFuzzer targets (preset "fuzz", into ./build-fuzz) and
# runs each for about SECONDS (default: $GATEBOX_FUZZ_SECONDS, else 60) from the seed corpus of
# tests/fuzz. Everything a run writes (corpus, crash inputs, logs) goes to a temp dir, never
# into the repository. Exits 1 if a target crashed, naming the input that reproduces it;
# prints execs/s and corpus size per target at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=${1:-${GATEBOX_FUZZ_SECONDS:-60}}
targets=(profile archive frames)
# Inputs a second per target, measured with the three side by side on 2 cores (scripts/
# fuzz.sh 60, seed 1): what -runs is made of.
declare -A rate=([profile]=2500 [archive]=1000 [frames]=1600)

. scripts/ccache-env.sh
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j"$(nproc)"

work=$(mktemp -d "${TMPDIR:-/tmp}/gatebox-fuzz.XXXXXX")
# The targets' scratch trees (one per process, on tmpfs), removed even after a crash.
export GATEBOX_FUZZ_TMP
GATEBOX_FUZZ_TMP=$(mktemp -d "$([ -d /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}")/gatebox-fuzz.XXXXXX")
trap 'rm -rf "$GATEBOX_FUZZ_TMP"' EXIT
tests/fuzz/make-corpus.sh "$work/seeds" >/dev/null

# "NAME VALUE" of libFuzzer's -print_final_stats lines, e.g. stat::average_exec_per_sec.
final_stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -n 1; }

# The targets run side by side (CI has 2 cores; libFuzzer uses one each), so the whole run
# takes about SECONDS, not SECONDS per target.
pids=()
for t in "${targets[@]}"; do
  dir="$work/$t"
  mkdir -p "$dir/corpus" "$dir/crashes"
  # A fixed seed (GATEBOX_FUZZ_SEED, default 1) and, by default, a fixed number of inputs
  # (about SECONDS on this project's 2-core CI machines; GATEBOX_FUZZ_BY_TIME=1 bounds by
  # time instead): the same run on every machine, so that CI's result is the developer's,
  # and a finding comes back when the command is run again.
  args=(-timeout=30 -rss_limit_mb=2048 -print_final_stats=1
        -seed="${GATEBOX_FUZZ_SEED:-1}" -artifact_prefix="$dir/crashes/")
  if [ -n "${GATEBOX_FUZZ_BY_TIME:-}" ]; then
    args+=(-max_total_time="$seconds")
  else
    args+=(-runs=$((seconds * ${rate[$t]})) -max_total_time=$((seconds * 3)))
  fi
  [ -f "tests/fuzz/$t.dict" ] && args+=(-dict="tests/fuzz/$t.dict")
  echo "fuzz: $t for ${seconds}s"
  # New inputs go to the first directory; the seeds are only read.
  "build-fuzz/fuzz/${t}_fuzz" "${args[@]}" "$dir/corpus" "$work/seeds/$t" >"$dir/log" 2>&1 &
  pids+=($!)
done

failed=()
summary=()
for i in "${!targets[@]}"; do
  t=${targets[$i]}
  dir="$work/$t"
  rc=0
  wait "${pids[$i]}" || rc=$?
  execs=$(final_stat number_of_executed_units "$dir/log")
  rate=$(final_stat average_exec_per_sec "$dir/log")
  corpus=$(find "$dir/corpus" "$work/seeds/$t" -type f | wc -l)
  cov=$(grep -o 'cov: [0-9]*' "$dir/log" | tail -n 1 | cut -d' ' -f2)
  if [ "$rc" -ne 0 ]; then
    failed+=("$t")
    echo "fuzz: $t FAILED (exit $rc); what it found (the lines before libFuzzer's report):" >&2
    # The finding itself (an invariant's message, a sanitizer report) comes before
    # libFuzzer's statistics; show it first, then the tail.
    grep -m 5 -E 'fuzz invariant violated|ERROR: |runtime error|SUMMARY' "$dir/log" >&2 || true
    tail -n 25 "$dir/log" >&2
    for input in "$dir"/crashes/*; do
      [ -e "$input" ] || continue
      echo "fuzz: reproduce with: build-fuzz/fuzz/${t}_fuzz $input" >&2
      echo "fuzz: the input, base64: $(head -c 3000 "$input" | base64 -w0)" >&2
    done
  fi
  summary+=("$(printf '%-8s %-6s %10s %9s %7s %6s' "$t" "$([ "$rc" -eq 0 ] && echo ok || echo CRASH)" \
    "${execs:-?}" "${rate:-?}" "$corpus" "${cov:-?}")")
done

echo
printf '%-8s %-6s %10s %9s %7s %6s\n' target result execs execs/s corpus cov
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${failed[*]} crashed; inputs and logs kept in $work" >&2
  exit 1
fi
rm -rf "$work"
