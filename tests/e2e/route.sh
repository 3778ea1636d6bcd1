#!/usr/bin/env bash
# stack.kind = "auto" and the site policy (issue 9), as their own CTest entries (label route):
#   route.sh plain         a gate with no requirements runs on native
#   route.sh hardware      isolation = "hardware" runs on a VM stack with KVM, or is refused (69)
#                          where qemu has only TCG
#   route.sh ptrace        requires = ["ptrace"] under kernel isolation goes where the probe says ptrace works
#   route.sh policy-moves  a policy that forbids native moves an auto gate elsewhere
#   route.sh policy-refuses a profile beyond the policy is refused (65), and nothing starts
# Environment: GATEBOX, GATEBOX_CACHE, GATEBOX_BUSYBOX_IMAGE.
set -euo pipefail

check=${1:?usage: route.sh CHECK}
for var in GATEBOX GATEBOX_CACHE GATEBOX_BUSYBOX_IMAGE; do
  [ -n "${!var:-}" ] || { echo "FAIL: $var is not set: run through ctest" >&2; exit 1; }
done
[ -f "$GATEBOX_BUSYBOX_IMAGE" ] || { echo "FAIL: route $check: no sample rootfs at $GATEBOX_BUSYBOX_IMAGE (make rootfs)" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/gatebox-route.XXXXXX")
trap 'rm -rf "$T"' EXIT
export GATEBOX_POLICY=""  # no host policy unless a check sets one

fail() {
  echo "FAIL: route $check: $*" >&2
  for f in "$T/out" "$T/err" "$T/report.json"; do [ -f "$f" ] && { echo "--- $f" >&2; head -c 3000 "$f" >&2; }; done
  exit 1
}
. "$(dirname "${BASH_SOURCE[0]}")/required.sh"
# skip STACK REASON: a failure when STACK is required here.
skip() { local stack=$1; shift; skip_or_fail "route $check" "$stack" "$@"; }

available() {
  "$GATEBOX" stacks --json | python3 -c '
import json, sys
for s in json.load(sys.stdin)["stacks"]:
    if s["name"] == sys.argv[1]:
        sys.exit(0 if s["available"] else 1)
sys.exit(1)' "$1"
}

# gate EXTRA_STACK_LINES... : writes $T/gate.toml, an auto gate that prints its hostname.
gate() {
  {
    echo 'name = "route"'
    echo '[stack]'
    echo 'kind = "auto"'
    for line in "$@"; do echo "$line"; done
    echo '[rootfs]'
    echo "image = \"$GATEBOX_BUSYBOX_IMAGE\""
    echo '[run]'
    echo 'argv = ["/bin/sh", "-c", "echo routed"]'
    echo '[limits]'
    echo 'memory = "256MiB"'
  } >"$T/gate.toml"
}

# run_gate: runs $T/gate.toml; sets $code; report in $T/report.json.
run_gate() {
  code=0
  "$GATEBOX" run "$T/gate.toml" --cache-dir "$GATEBOX_CACHE" --report "$T/report.json" "$@" >"$T/out" 2>"$T/err" || code=$?
}

report() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2]) or "")' "$T/report.json" "$1"; }

# Whether the qemu stack would run under TCG here (gatebox stacks' accel detail).
qemu_accel_is_tcg() {
  "$GATEBOX" stacks --json qemu 2>/dev/null | python3 -c '
import json, sys
for s in json.load(sys.stdin)["stacks"]:
    if s["name"] == "qemu":
        sys.exit(0 if str(s.get("details", {}).get("accel", "")).startswith("tcg") else 1)
sys.exit(1)'
}

expect_ran_on() {
  [ "$code" = 0 ] || fail "exit code $code, expected 0"
  grep -q routed "$T/out" || fail "the gate's output is missing"
  local stack reason
  stack=$(report stack)
  reason=$(report stack_reason)
  [[ "$stack" =~ ^($1)$ ]] || fail "ran on '$stack', expected $1"
  [[ "$reason" == auto:* ]] || fail "the report does not say why: stack_reason='$reason'"
  grep -q "$stack, auto:" "$T/err" || fail "the verdict line does not name the stack and why"
  echo "ok: ran on $stack ($reason)"
}

case $check in
plain)
  available native || skip native "native is unavailable here"
  gate
  run_gate
  expect_ran_on native
  ;;
hardware)
  available qemu || available firecracker || skip qemu "no VM stack here (qemu and firecracker unavailable)"
  gate 'isolation = "hardware"'
  run_gate
  if ! available firecracker && qemu_accel_is_tcg; then
    # Without KVM no stack here gives hardware isolation: a TCG guest is rated
    # user-space-kernel (QEMU does not treat TCG as a boundary). Refused, with the reason.
    [ "$code" = 69 ] || fail "isolation = hardware without KVM: expected 69, got $code"
    grep -q "qemu: gives user-space-kernel isolation" "$T/err" || fail "the refusal does not say why qemu does not fit"
    echo "ok: refused without KVM ($(grep -m1 'qemu:' "$T/err"))"
    # With the weaker class, the TCG guest is taken.
    gate 'isolation = "user-space-kernel"'
    run_gate
    expect_ran_on "gvisor|qemu"
  else
    expect_ran_on "qemu|firecracker"
    [ "$(python3 -c 'import json,sys; print((json.load(open(sys.argv[1])).get("vm") or {}).get("accel"))' "$T/report.json")" = kvm ] ||
      fail "ran with hardware isolation but the report's vm.accel is not kvm"
  fi
  ;;
ptrace)
  # native gives kernel isolation, its default policy allows ptrace of the gate's own
  # children, and it starts fastest: auto must pick it.
  available native || skip native "native is unavailable here"
  gate 'isolation = "kernel"' 'requires = ["ptrace"]'
  run_gate
  expect_ran_on native
  stack=$(report stack)
  "$GATEBOX" probe --stack "$stack" --json --cache-dir "$GATEBOX_CACHE" >"$T/probe.json" 2>/dev/null || fail "probe failed"
  python3 - "$T/probe.json" "$stack" <<'PY' || fail "the probe does not show ptrace working on the chosen stack"
import json, sys
m = json.load(open(sys.argv[1]))
col = [c for c in m["columns"] if c["stack"] == sys.argv[2] and c["policy"] == "default"][0]
assert col["results"]["ptrace"]["status"] == "works", col["results"]["ptrace"]
PY
  ;;
policy-moves)
  printf '[stacks]\nallowed = ["docker", "gvisor", "qemu", "firecracker"]\n' >"$T/policy.toml"
  export GATEBOX_POLICY=$T/policy.toml
  gate
  run_gate
  if ! available gvisor && ! available docker && ! available qemu; then
    [ "$code" = 69 ] || fail "no allowed stack is available: expected 69, got $code"
    grep -q "native: not allowed by the site policy ($T/policy.toml:2:" "$T/err" || fail "the reason for native is missing"
    exit 0
  fi
  # The fastest allowed stack, by the cold starts measured on this host: docker's and
  # gvisor's are close (0.3-0.8 s, their order varies with load), a VM under TCG takes
  # seconds. Where the VMs have no KVM, one of the two containers must win.
  if qemu_accel_is_tcg && { available gvisor || available docker; }; then
    expect_ran_on "docker|gvisor"
  else
    expect_ran_on "docker|gvisor|qemu|firecracker"
  fi
  ;;
policy-refuses)
  printf '# caps\n[limits]\nmemory = "128MiB"\n' >"$T/policy.toml"
  export GATEBOX_POLICY=$T/policy.toml
  gate
  mkdir "$T/cache"
  run_gate --stack native
  [ "$code" = 65 ] || fail "expected exit 65, got $code"
  grep -q "limits.memory = 256MiB is above the cap of 128MiB" "$T/err" || fail "the refusal does not say what"
  grep -q "$T/policy.toml:3:" "$T/err" || fail "the refusal does not name the policy file:line"
  # Nothing started: the rootfs was not even unpacked.
  code=0
  "$GATEBOX" run "$T/gate.toml" --stack native --cache-dir "$T/cache" >/dev/null 2>&1 || code=$?
  [ "$code" = 65 ] || fail "the second refused run exited $code, expected 65"
  [ -z "$(ls -A "$T/cache")" ] || fail "something was made in the cache: $(ls -A "$T/cache")"
  ;;
*) fail "unknown check" ;;
esac
