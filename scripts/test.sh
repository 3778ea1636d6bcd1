#!/usr/bin/env bash
# test.sh [CTEST ARGS...] — starts the services the end-to-end suite needs (each
# scripts/services/*.sh that can start one here), runs CTest (in CI also the sanitizer
# build's tests and a bounded fuzz run), and stops only what it started, on every exit path.
# A sanitized build (the "ci" preset) runs every test under ASan+UBSan.
#
# GATEBOX_REQUIRED_STACKS (make test REQUIRED_STACKS="..."; default: every stack but
# firecracker, which needs a usable /dev/kvm) names the stacks this machine must test: a
# required stack's service that does not start (dockerd, the test cluster), a case of it
# that skips, or a stack that ran no case fails the run. Empty: nothing is required, and
# whatever cannot run here skips with its reason. The summary at the end lists, per stack,
# what ran, passed, failed and skipped, and why.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# The suites call python3 a few thousand times. Where python3 is a version manager's shim
# (pyenv: a bash script that finds the version each time, ~0.7 s of CPU under load), the
# interpreter it resolves to goes first in PATH, so that each call costs only Python's start.
if py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) && [ -x "$py" ]; then
  PATH="$(dirname "$py"):$PATH"
fi
export GATEBOX_REQUIRED_STACKS=${GATEBOX_REQUIRED_STACKS-native docker gvisor qemu kubernetes}
echo "test: required stacks: ${GATEBOX_REQUIRED_STACKS:-none} (make test REQUIRED_STACKS=\"...\" to change)"
. tests/e2e/required.sh
service_failures=()
started=()
work=$(mktemp -d "${TMPDIR:-/tmp}/gatebox-test.XXXXXX")
k8s_pid=
stop_services() {
  local s
  # The cluster's start may still be running in the background: let it finish, so that
  # what it started is known and stopped (its own script stops only what it started).
  if [ -n "$k8s_pid" ]; then
    kill -TERM "$k8s_pid" 2>/dev/null || true
    wait "$k8s_pid" 2>/dev/null || true
  fi
  # Started by us (0), or cut short while starting (no status yet): ours to stop.
  case $(cat "$work/k8s.rc" 2>/dev/null || echo starting) in
    0 | starting) [ -e "$work/k8s-start.log" ] && started+=(scripts/services/kubernetes.sh) ;;
  esac
  for s in ${started[@]+"${started[@]}"}; do "$s" stop || true; done
  rm -rf "$work"
}
trap stop_services EXIT
for s in scripts/services/*.sh; do
  [ -e "$s" ] || continue
  # The kubernetes cluster is started in the background, below.
  [ "$(basename "$s")" = kubernetes.sh ] && continue
  # "start" prints why it could not start (the stack's tests then skip with that reason);
  # exit 0 = started by us, 3 = already running (not ours to stop), other = not started.
  rc=0
  "$s" start || rc=$?
  [ "$rc" -eq 0 ] && started+=("$s")
  service=$(basename "$s" .sh)
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ] && is_required "$service"; then
    service_failures+=("the $service service did not start (exit $rc), and the $service stack is required")
  fi
done
if grep -q '^GATEBOX_SANITIZE:BOOL=ON' build/CMakeCache.txt 2>/dev/null; then
  . scripts/sanitizer-env.sh
  echo "test: ./build is sanitized (ASan+UBSan): every test runs under the sanitizers"
fi

# The kubernetes stack's suite needs the test cluster, whose first build takes ~11 min:
# it is built and started in the background at the lowest priority (the other suites keep
# the CPU, it takes what they leave idle), and the kubernetes tests run in a second CTest
# beside the first as soon as the cluster is up. Without a cluster they skip, with the
# reason. To run them against another cluster instead, export KUBECONFIG and
# GATEBOX_K8S_REGISTRY (and GATEBOX_SKIP_KUBERNETES=1).
(
  rc=0
  nice -n 19 scripts/services/kubernetes.sh start >"$work/k8s-start.log" 2>&1 || rc=$?
  echo "$rc" >"$work/k8s.rc"
  if [ "$rc" = 0 ] || [ "$rc" = 3 ]; then
    while IFS= read -r line; do
      case $line in *=*) export "${line?}" ;; esac
    done < <(tests/k8s/cluster.sh env)
  fi
  # The corpus cases need the corpus rootfs, built below: this waits for that build (its
  # lock), or makes it if the cluster came first.
  tests/corpus/build.sh >/dev/null 2>&1 || true
  # Two lanes side by side on the test cluster (a namespace each); one case at a time on
  # another cluster, whose Jobs the leftover check looks for in every namespace.
  k8s_jobs=1
  [ "${KUBECONFIG:-}" != /var/lib/e2e-k8s/kubeconfig ] || k8s_jobs=2
  ctest --test-dir build --output-on-failure -j"$k8s_jobs" -L kubernetes --output-junit "$work/k8s.xml" \
    "$@" >"$work/k8s-ctest.log" 2>&1
) &
k8s_pid=$!

# The real-gate corpus rootfs (tests/corpus/build.sh: Debian 12 with gcc, python3-pytest,
# golang-go, nodejs; ≈ 4 min to build once, then cached in /var/cache/gatebox-corpus). The
# corpus and fingerprint cases skip, with the reason, when it cannot be built here.
corpus_start=$SECONDS
if corpus=$(tests/corpus/build.sh); then
  echo "test: corpus rootfs $corpus ($((SECONDS - corpus_start)) s)"
else
  echo "test: the corpus rootfs could not be built (above): the corpus cases will skip" >&2
fi

# -j4: each stack's cases hold that stack's lock (tests/e2e/CMakeLists.txt; the VM stacks'
# two), so up to four suites run side by side: they wait on daemons, guests and timers
# much of the time, and two cores stay busy.
rc_main=0
ctest --test-dir build --output-on-failure -j4 -LE kubernetes --output-junit "$work/main.xml" "$@" || rc_main=$?
rc_k8s=0
wait "$k8s_pid" || rc_k8s=$?
k8s_pid=
echo
echo "=== the kubernetes cluster: $(tail -n 1 "$work/k8s-start.log" 2>/dev/null)"
k8s_rc=$(cat "$work/k8s.rc" 2>/dev/null || echo "none")
if [ "$k8s_rc" != 0 ] && [ "$k8s_rc" != 3 ]; then
  echo "=== the kubernetes cluster did not start (exit $k8s_rc); what its start printed:"
  sed 's/^/    /' "$work/k8s-start.log" 2>/dev/null || true
  if is_required kubernetes; then
    service_failures+=("the kubernetes test cluster did not start (exit $k8s_rc), and the kubernetes stack is required")
  fi
fi
echo "=== the kubernetes stack's tests (run beside the ones above):"
cat "$work/k8s-ctest.log" 2>/dev/null || true
rc_summary=0
python3 scripts/test-summary.py "$work/main.xml" "$work/k8s.xml" || rc_summary=$?
for f in ${service_failures[@]+"${service_failures[@]}"}; do echo "test: FAIL: $f" >&2; done
if [ "$rc_main" != 0 ] || [ "$rc_k8s" != 0 ] || [ "$rc_summary" != 0 ] || [ ${#service_failures[@]} -gt 0 ]; then
  echo "test: failed (CTest: exit $rc_main; kubernetes CTest: exit $rc_k8s; required stacks: exit $rc_summary; services that did not start: ${#service_failures[@]})" >&2
  exit 1
fi

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
