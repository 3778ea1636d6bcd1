#!/usr/bin/env bash
# test.sh [CTEST ARGS...] — starts the services the end-to-end suite needs (each
# scripts/services/*.sh that can start one here), runs CTest (in CI also the sanitizer
# build's tests and a bounded fuzz run), and stops only what it started, on every exit path.
# A sanitized build (the "ci" preset) runs every test under ASan+UBSan.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
started=()
stop_services() {
  local s
  for s in "${started[@]}"; do "$s" stop || true; done
}
trap stop_services EXIT
for s in scripts/services/*.sh; do
  [ -e "$s" ] || continue
  # "start" prints why it could not start (the stack's tests then skip with that reason);
  # exit 0 = started by us, 3 = already running (not ours to stop), other = not started.
  rc=0
  "$s" start || rc=$?
  [ "$rc" -eq 0 ] && started+=("$s")
done
if grep -q '^GATEBOX_SANITIZE:BOOL=ON' build/CMakeCache.txt 2>/dev/null; then
  . scripts/sanitizer-env.sh
  echo "test: ./build is sanitized (ASan+UBSan): every test runs under the sanitizers"
fi
ctest --test-dir build --output-on-failure "$@"

# CI (CI=true) then runs each fuzz target for GATEBOX_FUZZ_SECONDS (60 by default); CI's
# build is the sanitized "ci" preset, so the unit and end-to-end tests above already ran
# under ASan+UBSan. Outside CI, GATEBOX_SANITIZE_TESTS=1 runs the unit tests and the native
# suite with the separate "sanitize" build, and GATEBOX_FUZZ_SECONDS asks for the fuzzers.
if [ -n "${GATEBOX_SANITIZE_TESTS:-}" ]; then
  start=$SECONDS
  scripts/sanitize.sh
  echo "sanitize: build and tests took $((SECONDS - start)) s"
fi
if [ "${CI:-}" = true ] || [ -n "${GATEBOX_FUZZ_SECONDS:-}" ]; then
  start=$SECONDS
  scripts/fuzz.sh "${GATEBOX_FUZZ_SECONDS:-60}"
  echo "fuzz: build and runs took $((SECONDS - start)) s"
fi
