#!/usr/bin/env bash
# timeout: 300
# What a gate sees, the same on every stack: the fingerprint gate (tests/corpus/gates/
# fingerprint) prints each item of README's table "What a gate sees" on the corpus rootfs,
# as the default user, once with each network mode, and the run fails on any value the
# table does not give for this stack (tests/e2e/fingerprint_check.py).
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/corpus.sh"

make_profile fingerprint <<EOF2
name = "fingerprint"
[rootfs]
image = "$CORPUS_IMAGE"
[run]
argv = ["/corpus/fingerprint/gate.sh", "$MARKER"]
env = { GATE_HOST_MEM_KIB = "$(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)", GATE_HOST_CPUS = "$(nproc)", PATH = "/usr/local/bin:/usr/bin:/bin" }
[network]
mode = "loopback"
[limits]
timeout = "120s"
memory = "1GiB"
cpus = 1
[[mount]]
source = "$CORPUS_GATES/fingerprint"
target = "/corpus/fingerprint"
EOF2

for mode in loopback none; do
  GB_LIMIT=300 gb_run "$PROFILE" --set "network.mode=\"$mode\""
  expect_exit 0
  python3 "$E2E_DIR/fingerprint_check.py" "$E2E_DIR/../../README.md" "$GATEBOX_STACK" "$T/stdout" ||
    fail "with network.mode = $mode the gate saw what README's \"What a gate sees\" does not say for $GATEBOX_STACK (above)"
  expect_no_leftovers
done
pass "$(grep -c ': ' "$T/stdout") items as README says, with either network mode"
