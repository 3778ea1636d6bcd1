#!/usr/bin/env bash
# timeout: 300
# The shell corpus gate: strace -f of a child; 24 MB of output under limits.output = 1MiB
# (the exit status after it still decides); bytes that are not UTF-8 and a 200,000-byte
# line, passed through unchanged.
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/corpus.sh"

# The kubelet keeps a container's log in files it rotates at 10 MiB: what a gate writes
# before gatebox's log stream attaches, past that size, is gone (README, kubernetes). There
# the flood stays under it.
[ "$GATEBOX_STACK" != kubernetes ] || CORPUS_ENV='GATE_FLOOD_BYTES = "8000000"'

corpus_run shell pass
expect_exit 0
expect_stdout_has "strace: 2 execve calls traced"
expect_stdout_has "shell-gate: passed"
expect_report output.truncated true
LC_ALL=C grep -qa $'not-utf8: \xff\xfe\x80 end' "$T/stdout" || fail "the bytes that are not UTF-8 did not come through unchanged"
LC_ALL=C awk 'length($0) == 200000 && $0 ~ /^L+$/ { found = 1 } END { exit !found }' "$T/stdout" ||
  fail "the 200,000-byte line did not come through whole"
expect_no_leftovers
pass_secs=$GB_SECS

corpus_run shell fail
expect_exit 1
expect_stdout_has "shell-gate: failing as asked"
expect_report output.truncated true
expect_no_leftovers
pass "pass variant ${pass_secs}s, fail variant ${GB_SECS}s"
