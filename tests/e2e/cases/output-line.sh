#!/usr/bin/env bash
# A 1 GiB line with no newline at all, under limits.output = 1MiB, in the prefixed format
# with a json log file (both cut the output into lines): gatebox shows the first MiB, drops
# the rest without ever holding the line in memory, and the run takes seconds.
# timeout: 300
. "$(dirname "$0")/../lib.sh"
skip_on qemu "1 GiB written inside a TCG guest takes minutes of emulated copying; the cap itself is checked under qemu by output-flood"

make_profile line <<EOF2
name = "e2e-output-line"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/fixtures/hostile", "line", "1073741824", "--", "$MARKER"]
[limits]
timeout = "240s"
output = "1MiB"
EOF2

# "line" ends the program once written: the marker after it is never read.
GB_PREFIX=(/usr/bin/time -f "maxrss_kib=%M" -o "$T/time")
gb_run "$PROFILE" --log-format prefixed --log-file "$T/log.jsonl"
expect_exit 0
expect_report output.truncated true
expect_report_cmp output.stdout_bytes -ge 1048576
rss=$(sed -n 's/^maxrss_kib=//p' "$T/time")
[ -n "$rss" ] || fail "no max RSS from /usr/bin/time: $(cat "$T/time")"
# gatebox and whatever it waits for (runsc; not dockerd): far below the line's 1 GiB.
# Against gatebox's own footprint (an ASan build starts at ~250 MB before main()).
/usr/bin/time -f "maxrss_kib=%M" -o "$T/time.base" "$GATEBOX" --version >/dev/null
base=$(sed -n 's/^maxrss_kib=//p' "$T/time.base")
[ "$rss" -lt $((base + 256 * 1024)) ] ||
  fail "gatebox's max RSS was $rss KiB (${base} KiB at rest) for a 1 GiB line: it buffers the line"
shown=$(wc -c <"$T/stdout")
[ "$shown" -le $((1024 * 1024 + 128 * 1024)) ] || fail "expected at most about 1 MiB of stdout, got $shown bytes"
logged=$(wc -c <"$T/log.jsonl")
[ "$logged" -le $((4 * 1024 * 1024)) ] || fail "expected the log file to stay near the cap, got $logged bytes"
expect_faster_than 200
expect_no_leftovers
pass "max RSS ${rss} KiB, ${GB_SECS}s, exit $GB_EXIT"
