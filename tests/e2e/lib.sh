# shellcheck shell=bash
# Helpers for the end-to-end cases: sourced by every tests/e2e/cases/*.sh.
#
# Environment (set by CTest, see CMakeLists.txt):
#   GATEBOX                the binary under test
#   GATEBOX_STACK          the stack every run of this case uses
#   GATEBOX_TEST_IMAGE     busybox + /fixtures/<programs> (tests/fixtures)
#   GATEBOX_BUSYBOX_IMAGE  the plain sample rootfs (rootfs/build.sh)
#   GATEBOX_CACHE          rootfs cache shared by all cases, so each image unpacks once
#
# Sourcing this file checks all of that and the stack; a case that cannot run here exits 77
# after printing "SKIP: <why>". A failed expectation prints what was expected and what
# came, then exits 1. Each case gets:
#   $T       its own temp dir (removed at exit)
#   $MARKER  a unique word; put it in the gate's argv so leftovers can be found by it
#   $IMAGE   the test image, $BUSYBOX_IMAGE the plain one
set -euo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CASE=$(basename "${BASH_SOURCE[1]:-$0}" .sh)

# --- failing and skipping ----------------------------------------------------------------

. "$E2E_DIR/required.sh"

# skip REASON: something the case needs is missing here; a failure on a required stack.
skip() {
  skip_or_fail "$CASE on ${GATEBOX_STACK:-?}" "${GATEBOX_STACK:-?}" "$@"
}

# skip_on STACK REASON: this case does not apply to STACK (by design, never a failure).
skip_on() {
  local stack=$1
  shift
  [ "$GATEBOX_STACK" != "$stack" ] || not_applicable "$CASE on $stack" "$*"
}

# only_on STACK...: the case applies to these stacks only.
only_on() {
  local s
  for s in "$@"; do [ "$GATEBOX_STACK" != "$s" ] || return 0; done
  not_applicable "$CASE on $GATEBOX_STACK" "runs on $* only"
}

# Shows the last lines of what the most recent run printed, for a failure message.
show_run() {
  [ -n "${GB_CMD:-}" ] || return 0
  echo "--- command: ${GB_CMD}"
  echo "--- exit code: ${GB_EXIT:-?} after ${GB_SECS:-?}s"
  if [ -f "$T/stdout" ]; then
    echo "--- stdout ($(wc -c <"$T/stdout") bytes, last 20 lines):"
    tail -n 20 "$T/stdout" | cut -c1-300
  fi
  if [ -f "$T/stderr" ]; then
    echo "--- stderr (last 30 lines):"
    tail -n 30 "$T/stderr" | cut -c1-300
  fi
  if [ -f "$GB_REPORT" ]; then
    echo "--- report:"
    head -c 4000 "$GB_REPORT"
  fi
}

fail() {
  echo "FAIL: $CASE on $GATEBOX_STACK: $*" >&2
  show_run >&2
  exit 1
}

# --- environment and stack checks -------------------------------------------------------

for var in GATEBOX GATEBOX_STACK GATEBOX_CACHE GATEBOX_TEST_IMAGE; do
  if [ -z "${!var:-}" ]; then
    echo "FAIL: $var is not set: run the e2e cases through ctest" >&2
    exit 1
  fi
done
[ -x "$GATEBOX" ] || { echo "FAIL: $GATEBOX is not an executable (build it first)" >&2; exit 1; }
[ -f "$GATEBOX_TEST_IMAGE" ] ||
  skip "the test image $GATEBOX_TEST_IMAGE is missing: build the sample rootfs first (make rootfs), then rebuild"
GATEBOX_BUSYBOX_IMAGE=${GATEBOX_BUSYBOX_IMAGE:-}
IMAGE=$GATEBOX_TEST_IMAGE
BUSYBOX_IMAGE=$GATEBOX_BUSYBOX_IMAGE
mkdir -p "$GATEBOX_CACHE"

# Prints "yes" or "no<TAB>reason" for $GATEBOX_STACK from `gatebox stacks --json STACK`
# (which asks that stack only, and exits 69 when it is unavailable).
stack_status() {
  local json rc=0
  json=$("$GATEBOX" stacks --json "$GATEBOX_STACK" 2>"${T:-/tmp}/stacks.err") || rc=$?
  if [ "$rc" != 0 ] && [ "$rc" != 69 ]; then
    printf 'error\t`gatebox stacks --json %s` failed (exit %s): %s\n' "$GATEBOX_STACK" "$rc" "$(tr '\n' ' ' <"${T:-/tmp}/stacks.err")"
    return 0
  fi
  STACKS_JSON=$json python3 -c '
import json, os, sys
stack = sys.argv[1]
try:
    stacks = json.loads(os.environ["STACKS_JSON"])
    if isinstance(stacks, dict):
        stacks = stacks.get("stacks", [])
except ValueError as e:
    print("error\t`gatebox stacks --json` printed no JSON: %s" % e)
    sys.exit(0)
for s in stacks:
    if s.get("name") == stack:
        if s.get("available") is True:
            print("yes")
        else:
            print("no\t%s" % (s.get("reason") or "unavailable, no reason given"))
        sys.exit(0)
print("error\tgatebox stacks does not list this stack")
' "$GATEBOX_STACK"
}

T=$(mktemp -d "${TMPDIR:-/tmp}/gatebox-e2e.$CASE.XXXXXX")
MARKER="gbmark$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
echo "$MARKER" >"$T/marker"
cleanup_dir() {
  # A failed case may leave a read-only bind of a dir under $T on a broken run; never
  # follow it with rm: unmount first.
  if grep -qF " $T" /proc/self/mountinfo 2>/dev/null; then
    echo "note: mounts under $T are left; not removing it" >&2
    return
  fi
  rm -rf "$T"
}
trap cleanup_dir EXIT

status=$(stack_status)
# The availability check itself breaking is a failure, never a reason to skip.
[ "${status%%$'\t'*}" != error ] || fail "the stack check broke: ${status#*$'\t'}"
[ "${status%%$'\t'*}" = yes ] || skip "${status#*$'\t'}"
# The kubernetes stack pushes the rootfs to a registry the cluster pulls from: the test
# cluster's (tests/k8s/cluster.sh env, exported by scripts/test.sh).
if [ "$GATEBOX_STACK" = kubernetes ] && [ -z "${GATEBOX_K8S_REGISTRY:-}" ]; then
  skip "GATEBOX_K8S_REGISTRY is not set: run the suite through scripts/test.sh, which starts the test cluster"
fi

# --- profiles and runs -------------------------------------------------------------------

# make_own_image FILE: an image of the case's own, the test image plus /FILE holding the
# marker, at $T/FILE.tar (set in OWN_IMAGE): no other case or run has it, so what its runs
# import, build or push is this case's doing.
make_own_image() {
  command -v zstd >/dev/null || skip "zstd is needed to make an image of this case's own"
  OWN_IMAGE=$T/$1.tar
  zstd -q -dc "$IMAGE" >"$OWN_IMAGE"
  echo "$MARKER" >"$T/$1"
  tar --append -f "$OWN_IMAGE" -C "$T" "$1"
}

# make_profile NAME <<EOF ... EOF: writes the profile from stdin to $T/NAME.toml and prints
# its path. In the text, @IMAGE@, @BUSYBOX_IMAGE@, @MARKER@ and @T@ are replaced (for quoted
# heredocs; unquoted ones can use the shell variables directly).
make_profile() {
  local file="$T/$1.toml"
  local text
  text=$(cat)
  text=${text//@IMAGE@/$IMAGE}
  text=${text//@BUSYBOX_IMAGE@/$BUSYBOX_IMAGE}
  text=${text//@MARKER@/$MARKER}
  text=${text//@T@/$T}
  printf '%s\n' "$text" >"$file"
  PROFILE=$file
}

# The kubernetes stack's lanes (tests/e2e/CMakeLists.txt) run in namespaces of their own on
# the test cluster: lane 0 in its kubeconfig's (gates), lane 1 in gates-1. Against another
# cluster (KUBECONFIG), every lane uses the kubeconfig's namespace.
K8S_NAMESPACE=
if [ "${GATEBOX_E2E_LANE:-0}" = 1 ] && [ "${KUBECONFIG:-}" = /var/lib/e2e-k8s/kubeconfig ]; then
  K8S_NAMESPACE=gates-1
fi

# The options every run of the suite uses; the case's own follow. A case may set GB_PREFIX
# (a command array to run gatebox through, e.g. setpriv), GB_BIN, GB_CACHE and GB_REPORT.
GB_PREFIX=()
GB_BIN=$GATEBOX
GB_CACHE=$GATEBOX_CACHE
GB_REPORT="$T/report.json"
gb_args() {
  local stack_args=()
  if [ "$GATEBOX_STACK" = kubernetes ]; then
    stack_args=(--set "stack.kubernetes.registry=\"$GATEBOX_K8S_REGISTRY\"")
    [ -z "$K8S_NAMESPACE" ] || stack_args+=(--set "stack.kubernetes.namespace=\"$K8S_NAMESPACE\"")
  fi
  GB_ARGV=(${GB_PREFIX[@]+"${GB_PREFIX[@]}"} "$GB_BIN" run --stack "$GATEBOX_STACK" ${stack_args[@]+"${stack_args[@]}"}
    --cache-dir "$GB_CACHE" --report "$GB_REPORT" --log-format plain "$@")
  GB_CMD="${GB_ARGV[*]}"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# Sets GB_MS and GB_SECS (for messages) from a start time in ms.
set_elapsed() {
  GB_MS=$(($(now_ms) - $1))
  GB_SECS=$(printf '%d.%02d' $((GB_MS / 1000)) $((GB_MS % 1000 / 10)))
}

# gb_run ARGS...: runs gatebox on $GATEBOX_STACK and waits. Sets GB_EXIT and GB_MS; the
# output is in $T/stdout and $T/stderr, the report in $T/report.json. A run still going
# after GB_LIMIT seconds (default 180) is killed and the case fails.
gb_run() {
  gb_args "$@"
  rm -f "$GB_REPORT" "$T/report.flat" "$T/stdout" "$T/stderr"
  local start
  start=$(now_ms)
  GB_EXIT=0
  timeout --kill-after=10 "${GB_LIMIT:-180}" "${GB_ARGV[@]}" </dev/null >"$T/stdout" 2>"$T/stderr" || GB_EXIT=$?
  set_elapsed "$start"
  if [ "$GB_EXIT" = 124 ] || [ "$GB_EXIT" = 137 ]; then
    fail "gatebox did not finish within ${GB_LIMIT:-180}s"
  fi
}

# gb_start ARGS...: starts gatebox in the background (GB_PID); gb_wait collects it. Job
# control is on while starting so that the background gatebox does not inherit an ignored
# SIGINT (bash ignores SIGINT in background jobs of a script otherwise).
gb_start() {
  gb_args "$@"
  rm -f "$GB_REPORT" "$T/report.flat" "$T/stdout" "$T/stderr"
  GB_START=$(now_ms)
  set -m
  "${GB_ARGV[@]}" </dev/null >"$T/stdout" 2>"$T/stderr" &
  GB_PID=$!
  set +m
}

gb_wait() {
  local limit=${1:-60}
  local waited=0
  while kill -0 "$GB_PID" 2>/dev/null && [ "$waited" -lt $((limit * 10)) ]; do
    sleep 0.1
    waited=$((waited + 1))
  done
  if kill -0 "$GB_PID" 2>/dev/null; then
    kill -KILL "$GB_PID" 2>/dev/null || true
    wait "$GB_PID" 2>/dev/null || true
    fail "gatebox was still running ${limit}s later"
  fi
  GB_EXIT=0
  wait "$GB_PID" || GB_EXIT=$?
  set_elapsed "$GB_START"
}

# --- expectations -----------------------------------------------------------------------

expect_exit() {
  [ "$GB_EXIT" = "$1" ] || fail "expected exit code $1, got $GB_EXIT"
}

expect_stdout_has() {
  grep -qF -- "$1" "$T/stdout" || fail "expected stdout to contain '$1'"
}

expect_stdout_lacks() {
  ! grep -qF -- "$1" "$T/stdout" || fail "expected stdout NOT to contain '$1'"
}

# The files where the gate's stderr shows: on kubernetes the log API merges the gate's two
# streams, and everything arrives as stdout (gatebox's own messages stay on stderr).
stderr_files() {
  if [ "$GATEBOX_STACK" = kubernetes ]; then echo "$T/stderr $T/stdout"; else echo "$T/stderr"; fi
}

expect_stderr_has() {
  # shellcheck disable=SC2046
  grep -qF -- "$1" $(stderr_files) || fail "expected stderr to contain '$1'"
}

expect_stderr_lacks() {
  # shellcheck disable=SC2046
  ! grep -qF -- "$1" $(stderr_files) || fail "expected stderr NOT to contain '$1'"
}

# expect_stderr_matches REGEX (extended)
expect_stderr_matches() {
  # shellcheck disable=SC2046
  grep -qE -- "$1" $(stderr_files) || fail "expected stderr to match /$1/"
}

# expect_verdict_line VERDICT: the last line gatebox prints is "gatebox: VERDICT — ...".
expect_verdict_line() {
  local last
  last=$(tail -n 1 "$T/stderr")
  case $last in
    "gatebox: $1 — "*) ;;
    *) fail "expected the last stderr line to be 'gatebox: $1 — …', got '$last'" ;;
  esac
}

# The report flattened once per run into $T/report.flat, a "dotted.path<TAB>value" line per
# field: strings as they are (newlines as \n), anything else as JSON (true, null, 3, {...}).
flatten_report() {
  [ -f "$GB_REPORT" ] || fail "no report was written to $GB_REPORT"
  python3 - "$GB_REPORT" >"$T/report.flat" <<'PY' || fail "the report is not JSON"
import json, sys
def walk(prefix, value):
    text = value if isinstance(value, str) else json.dumps(value)
    if prefix:
        print("%s\t%s" % (prefix, text.replace("\\", "\\\\").replace("\n", "\\n")))
    if isinstance(value, dict):
        for key, sub in value.items():
            walk(prefix + "." + key if prefix else key, sub)
walk("", json.load(open(sys.argv[1])))
PY
}

# report_get FIELD: a field of the report by dotted path (output.truncated).
report_get() {
  [ -f "$T/report.flat" ] || flatten_report
  awk -F '\t' -v key="$1" '$1 == key { sub(/^[^\t]*\t/, ""); print; found = 1 }
    END { if (!found) { print "report has no field " key > "/dev/stderr"; exit 3 } }' "$T/report.flat"
}

# expect_report FIELD VALUE: VALUE as report_get prints it (fail, 3, true, null).
expect_report() {
  local got
  got=$(report_get "$1" 2>&1) || fail "report: $got"
  [ "$got" = "$2" ] || fail "expected report $1 = $2, got $got"
}

# expect_report_has FIELD TEXT: the field's text contains TEXT.
expect_report_has() {
  local got
  got=$(report_get "$1" 2>&1) || fail "report: $got"
  case $got in
    *"$2"*) ;;
    *) fail "expected report $1 to contain '$2', got '$got'" ;;
  esac
}

# expect_report_cmp FIELD OP NUMBER, OP one of -lt -le -gt -ge -eq (integers).
expect_report_cmp() {
  local got
  got=$(report_get "$1" 2>&1) || fail "report: $got"
  got=${got%.*}
  test "$got" "$2" "$3" 2>/dev/null || fail "expected report $1 $2 $3, got $got"
}

# expect_faster_than SECONDS (an integer): the whole gatebox run, wall clock. Only a bound
# against hangs: it counts gatebox's own start-up, which a loaded CI machine and a sanitized
# build stretch (speed is measured by bench/, not asserted here).
expect_faster_than() {
  [ "$GB_MS" -lt $(($1 * 1000)) ] || fail "expected the run to end within $1 s, it took $GB_SECS s"
}

# expect_gate_ended_within SECONDS: the gate's run as gatebox timed it (the report's
# timing_ms.run, from the gate's start to its end) — e.g. a timeout's kill was prompt.
expect_gate_ended_within() {
  local run
  run=$(report_get timing_ms.run 2>&1) || fail "report: $run"
  python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < 1000 * float(sys.argv[2]) else 1)' "$run" "$1" ||
    fail "expected the gate to end within $1 s of its start, the report says $run ms"
}

# gb_run_clocked PATTERN ARGS...: gb_run, with a wall clock outside gatebox from the first
# line of the gate's output that contains PATTERN to gatebox's exit (tests/e2e/line_clock.py).
gb_run_clocked() {
  local pattern=$1 saved=("${GB_PREFIX[@]+"${GB_PREFIX[@]}"}")
  shift
  rm -f "$T/clock"
  GB_PREFIX=(python3 "$E2E_DIR/line_clock.py" "$T/clock" "$pattern" -- ${saved[@]+"${saved[@]}"})
  gb_run "$@"
  GB_PREFIX=(${saved[@]+"${saved[@]}"})
}

# expect_line_to_exit_within SECONDS: after gb_run_clocked, gatebox exited within SECONDS of
# the gate's line, as a clock outside gatebox saw it (a gate that outlives its timeout, or a
# teardown that hangs, fails this however gatebox timed itself).
expect_line_to_exit_within() {
  local ms
  ms=$(cat "$T/clock" 2>/dev/null || echo missing)
  case $ms in
    none | missing) fail "the gate's line never came (clock: $ms)" ;;
  esac
  [ "$ms" -le $(($1 * 1000)) ] || fail "gatebox exited $ms ms after the gate's line; expected within $1 s"
  echo "ok: gatebox exited $ms ms after the gate's line (bound $1 s)"
}

# --- leftovers ----------------------------------------------------------------------------

# Prints what a run left on the host; nothing when clean.
leftovers() {
  # Mounts: every stack keeps its run's mount points under the cache (native run dirs,
  # runsc state); a line naming it is a mount that escaped the sandbox's namespace.
  # (Not any line with "gatebox" in it: a test daemon's own data root may say that.)
  grep -F -e "$GB_CACHE/" /proc/self/mountinfo | sed 's/^/mount: /' || true
  # Processes carrying the marker. The pattern comes from a file so that grep's own command
  # line does not match.
  local pidfile pid
  while read -r pidfile; do
    pid=${pidfile#/proc/}
    pid=${pid%/cmdline}
    echo "process: $pid $(tr '\0' ' ' 2>/dev/null <"$pidfile")"
  done < <(grep -l -a -F -f "$T/marker" /proc/[0-9]*/cmdline 2>/dev/null)
  # cgroups: children of any "gatebox" parent (v2, or each v1 controller), for the stacks
  # that make them on the host (native, gvisor). The others make none here, and their cases
  # run beside these (tests/e2e/CMakeLists.txt): they would see those runs' cgroups.
  local parent
  if [ "$GATEBOX_STACK" = native ] || [ "$GATEBOX_STACK" = gvisor ]; then
    while read -r parent; do
      find "$parent" -mindepth 1 -maxdepth 1 -type d -printf 'cgroup: %p\n' 2>/dev/null || true
    done < <(find /sys/fs/cgroup -maxdepth 6 -type d -name gatebox 2>/dev/null)
  fi
  # The cache's per-run state.
  local d
  for d in run tmp; do
    if [ -d "$GB_CACHE/$d" ]; then
      find "$GB_CACHE/$d" -mindepth 1 -maxdepth 1 -printf "cache: %p\n"
    fi
  done
  # The VM stacks: a run dir under vm/runs, and a VMM whose command line names one (the
  # gate's argv, and so the marker, is inside the guest's initramfs, not on its command line).
  if [ -d "$GB_CACHE/vm/runs" ]; then
    find "$GB_CACHE/vm/runs" -mindepth 1 -maxdepth 1 -printf "cache: %p\n"
  fi
  if [ "$GATEBOX_STACK" = qemu ] || [ "$GATEBOX_STACK" = firecracker ]; then
    printf '%s\n' "$GB_CACHE/vm/runs/" >"$T/vmm-pattern"
    while read -r pidfile; do
      pid=${pidfile#/proc/}
      pid=${pid%/cmdline}
      echo "vmm process: $pid $(tr '\0' ' ' 2>/dev/null <"$pidfile" | cut -c1-200)"
    done < <(grep -l -a -F -f "$T/vmm-pattern" /proc/[0-9]*/cmdline 2>/dev/null)
  fi
  if [ "$GATEBOX_STACK" = kubernetes ]; then
    # Jobs and pods of gatebox runs still on the cluster, in every namespace: those of this
    # lane's namespace, and anywhere those whose spec carries this case's marker (the other
    # lane's runs are its own business). On the test cluster with its admin token, else
    # with kubectl for a cluster of KUBECONFIG. A query that fails is reported as a
    # leftover line, so the check fails closed.
    local kind answer rc
    if [ -n "${GATEBOX_K8S_API:-}" ] && [ -r "${GATEBOX_K8S_ADMIN_TOKEN_FILE:-}" ] &&
      [ "${KUBECONFIG:-}" = /var/lib/e2e-k8s/kubeconfig ]; then
      for kind in apis/batch/v1/jobs api/v1/pods; do
        rc=0
        answer=$(curl -sS --fail --max-time 10 --cacert "$GATEBOX_K8S_CA" \
          -H "Authorization: Bearer $(cat "$GATEBOX_K8S_ADMIN_TOKEN_FILE")" \
          "$GATEBOX_K8S_API/$kind?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dgatebox" 2>&1) || rc=$?
        if [ "$rc" != 0 ]; then
          echo "kubernetes: the leftover query for ${kind##*/} failed (curl exit $rc): $(printf '%s' "$answer" | head -c 200)"
          continue
        fi
        printf '%s' "$answer" | python3 -c 'import json, sys
kind, lane_ns, marker = sys.argv[1:4]
try:
    items = json.load(sys.stdin)["items"]
except (ValueError, KeyError, TypeError) as e:
    print("kubernetes: the leftover query for %s gave no item list: %s" % (kind, e))
    sys.exit(0)
for i in items:
    m = i["metadata"]
    if m.get("namespace") == lane_ns or marker in json.dumps(i.get("spec", {})):
        print("kubernetes: %s %s/%s" % (i.get("kind") or kind, m.get("namespace"), m.get("name")))' \
          "${kind##*/}" "${K8S_NAMESPACE:-gates}" "$MARKER"
      done
    elif command -v kubectl >/dev/null; then
      rc=0
      answer=$(kubectl get jobs,pods --all-namespaces -l app.kubernetes.io/managed-by=gatebox -o name 2>&1) || rc=$?
      if [ "$rc" != 0 ]; then
        echo "kubernetes: the leftover query failed (kubectl exit $rc): $(printf '%s' "$answer" | head -c 200)"
      else
        printf '%s' "$answer" | sed '/^$/d; s/^/kubernetes: /'
      fi
    else
      echo "kubernetes: no way to look for leftover Jobs (neither the test cluster's admin token nor kubectl)"
    fi
    if [ -d "$GB_CACHE/kubernetes/runs" ]; then
      find "$GB_CACHE/kubernetes/runs" -mindepth 1 -maxdepth 1 -printf "cache: %p\n"
    fi
  fi
  if [ "$GATEBOX_STACK" = docker ]; then
    # Containers with gatebox's label, and any whose command carries the marker (a container
    # that lost or never had the label). A query that fails is a leftover line: fail closed.
    local rc=0 answer
    answer=$(docker ps -a --no-trunc --format '{{.ID}}\t{{.Names}}\t{{.Status}}\t{{.Label "gatebox.run"}}\t{{.Command}}' 2>&1) || rc=$?
    if [ "$rc" != 0 ]; then
      echo "container: the leftover query failed (docker ps exit $rc): $(printf '%s' "$answer" | head -c 200)"
    else
      printf '%s\n' "$answer" | awk -F '\t' -v marker="$MARKER" \
        'NF >= 5 && ($4 != "" || index($5, marker)) { print "container: " $1 " " $2 " " $3 }'
    fi
  fi
  if [ "$GATEBOX_STACK" = gvisor ] && command -v runsc >/dev/null; then
    # Each run has its own runsc --root under the cache; runsc's processes name it.
    local state
    for state in "$GB_CACHE"/run/gvisor-*/state; do
      [ -d "$state" ] || continue
      runsc --root "$state" list -quiet 2>/dev/null | sed 's/^/runsc container: /' || true
    done
    printf '%s\n' "$GB_CACHE/run/gvisor-" >"$T/runsc-pattern"
    while read -r pidfile; do
      pid=${pidfile#/proc/}
      pid=${pid%/cmdline}
      echo "runsc process: $pid $(tr '\0' ' ' 2>/dev/null <"$pidfile" | cut -c1-200)"
    done < <(grep -l -a -F -f "$T/runsc-pattern" /proc/[0-9]*/cmdline 2>/dev/null)
  fi
  return 0
}

# expect_no_leftovers: nothing of the run is left on the host. The kernel reaps the
# processes of a killed pid namespace a moment after its init is gone, so look again for up
# to 1 s before failing.
expect_no_leftovers() {
  local found
  for _ in 1 2 3 4 5; do
    found=$(leftovers)
    [ -n "$found" ] || return 0
    sleep 0.2
  done
  fail "the run left things behind:
$found"
}

pass() {
  echo "PASS: $CASE on $GATEBOX_STACK${1:+: $1}"
  exit 0
}
