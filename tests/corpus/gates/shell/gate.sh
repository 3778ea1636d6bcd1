#!/bin/sh
# The shell gate: strace -f of a child, then output that stresses the stream: tens of MB
# (beyond the profile's limits.output), bytes that are not UTF-8, and one long line.
set -eu
strace -f -qq -e trace=execve -o /tmp/trace sh -c '/bin/true; echo traced-child'
grep -q 'execve("/bin/true"' /tmp/trace
echo "strace: $(grep -c execve /tmp/trace) execve calls traced"
printf 'not-utf8: \377\376\200 end\n'
head -c 200000 /dev/zero | tr '\0' 'L'
printf '\nlong-line: done\n'
# What decides the verdict is said before the flood: limits.output keeps only the first
# 1 MiB of all output, and the exit status after it must still count.
if [ "${GATE_VARIANT:-}" = fail ]; then
  echo "shell-gate: failing as asked"
else
  echo "shell-gate: passed"
fi
# 24 MB of lines (GATE_FLOOD_BYTES); the run keeps the first limits.output of them.
yes 'flood line of the shell gate' | head -c "${GATE_FLOOD_BYTES:-24000000}"
[ "${GATE_VARIANT:-}" != fail ] || exit 3
