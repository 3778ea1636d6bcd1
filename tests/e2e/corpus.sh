# shellcheck shell=bash
# The real-gate corpus (tests/corpus): sourced by the cases corpus-*.sh after lib.sh.
#
# Each gate is a directory tests/corpus/gates/NAME with an entry point gate.sh; it runs on
# the corpus rootfs (Debian 12 with gcc, make, python3-pytest, golang-go, nodejs, strace;
# tests/corpus/build.sh, which `make test` runs first), mounted read-only at /corpus/NAME,
# as the default user under the default seccomp policy, with localhost. GATE_VARIANT=fail
# makes one of its tests fail in the ordinary way (a wrong expectation), so each gate has a
# pass and a fail variant, and both must give the same verdict on every stack.

CORPUS_GATES=$(cd "$E2E_DIR/../corpus/gates" && pwd)
CORPUS_IMAGE=${GATEBOX_CORPUS_IMAGE:-$("$E2E_DIR/../corpus/build.sh" --print-path)}
[ -f "$CORPUS_IMAGE" ] ||
  skip "the corpus rootfs $CORPUS_IMAGE is not built: tests/corpus/build.sh builds it (make test runs it first)"

# corpus_run GATE VARIANT [GATEBOX ARGS...]: runs the gate's pass or fail variant (gb_run).
# CORPUS_ENV: more run.env entries, as TOML (KEY = "value", ...).
corpus_run() {
  local gate=$1 variant=$2
  shift 2
  make_profile "corpus-$gate-$variant" <<EOF2
name = "corpus-$gate"
[rootfs]
image = "$CORPUS_IMAGE"
[run]
argv = ["/corpus/$gate/gate.sh", "$MARKER"]
env = { GATE_VARIANT = "$variant", PATH = "/usr/local/bin:/usr/bin:/bin"${CORPUS_ENV:+, $CORPUS_ENV} }
[network]
mode = "loopback"
[limits]
timeout = "${CORPUS_TIMEOUT:-240s}"
memory = "1GiB"
output = "1MiB"
[[mount]]
source = "$CORPUS_GATES/$gate"
target = "/corpus/$gate"
EOF2
  GB_LIMIT=${CORPUS_LIMIT:-400} gb_run "$PROFILE" "$@"
}

# corpus_case GATE PASS_TEXT FAIL_TEXT: the pass variant passes and prints PASS_TEXT; the
# fail variant fails (exit 1) and prints FAIL_TEXT (in either stream); nothing is left.
corpus_case() {
  local gate=$1 pass_text=$2 fail_text=$3
  corpus_run "$gate" pass
  expect_exit 0
  grep -qF -- "$pass_text" "$T/stdout" "$T/stderr" || fail "expected the output to contain '$pass_text'"
  expect_no_leftovers
  local pass_secs=$GB_SECS
  corpus_run "$gate" fail
  expect_exit 1
  grep -qF -- "$fail_text" "$T/stdout" "$T/stderr" || fail "expected the output to contain '$fail_text'"
  expect_no_leftovers
  pass "pass variant ${pass_secs}s, fail variant ${GB_SECS}s"
}
