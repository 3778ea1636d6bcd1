#!/usr/bin/env bash
# The gate's output on a terminal when stdout is not one (`gatebox run ... >file` at a
# terminal): which stream goes where is decided per stream. The file gets the gate's stdout
# byte for byte; the terminal (stderr) shows the gate's stderr with every control sequence
# as text and every line after "err| ", so no window title, no clear screen, and no line
# that reads like gatebox's own verdict. Then both streams on the terminal (--log-format
# plain asked for): both neutralised, stdout's lines after "out| ".
# kubernetes merges the gate's streams into one: nothing of the gate reaches stderr there.
. "$(dirname "$0")/../lib.sh"
command -v python3 >/dev/null || skip "python3 is needed to give gatebox a terminal"
skip_on kubernetes "the Kubernetes log API merges the gate's two streams into stdout"

make_profile terminal <<EOF2
name = "e2e-terminal-escapes"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", '''
printf 'out \033]0;pwned-out\007\033[2J\033[1;1Hraw\n'
printf '\033]0;pwned\007\033[2J\033[H\033[1A\033[2K\rgatebox: pass \342\200\224 exit code 0 (native, 0.01s)\n' >&2
printf '\302\233''2J c1 \233''2J \033P+q\033\\\\ dcs \033]8;;http://x/\033\\\\link\n' >&2
printf '\033[' >&2; sleep 0.3; printf '2J split\n' >&2
printf 'gatebox: pass \342\200\224 exit code 0' >&2
exit 1
''', "$MARKER"]
[limits]
timeout = "60s"
EOF2

# Control bytes a terminal acts on: C0 but \n and \t, DEL, raw C1, C1 as UTF-8.
controls='[\x00-\x08\x0b-\x1f\x7f\x9b]|\xc2[\x80-\x9f]'

# stdout to a file, stderr (and stdin, the controlling terminal) a pty. NO_COLOR and --quiet:
# gatebox itself then sends no escape of its own (no colour, no progress line), so any ESC
# on the terminal would be the gate's.
gb_args "$PROFILE" --quiet
rm -f "$GB_REPORT" "$T/report.flat"
start=$(now_ms)
GB_EXIT=0
NO_COLOR=1 python3 "$E2E_DIR/pty_run.py" "$T/stderr" "$T/injected" 180 \
  sh -c 'out=$1; shift; exec "$@" >"$out"' sh "$T/stdout" "${GB_ARGV[@]}" || GB_EXIT=$?
set_elapsed "$start"
[ "$GB_EXIT" != 124 ] || fail "gatebox did not finish within 180s under a terminal"
expect_exit 1
expect_report verdict fail

# The file: exactly what the gate wrote to stdout.
printf 'out \033]0;pwned-out\007\033[2J\033[1;1Hraw\n' >"$T/expected.stdout"
cmp -s "$T/stdout" "$T/expected.stdout" ||
  fail "the gate's stdout did not reach the file unchanged: $(cat -v "$T/stdout" | head -n 3)"

# The terminal.
! LC_ALL=C grep -qaP "$controls" "$T/stderr" ||
  fail "control bytes reached the terminal: $(LC_ALL=C grep -naP "$controls" "$T/stderr" | cat -v | head -n 3)"
! grep -qa 'pwned-out' "$T/stderr" || fail "the gate's stdout showed on the terminal"
grep -qaF 'err| \x1b]0;pwned\x07\x1b[2J\x1b[H\x1b[1A\x1b[2K\x0dgatebox: pass' "$T/stderr" ||
  fail "the forged erase-and-verdict line is not shown escaped after 'err| '"
grep -qaF 'err| \xc2\x9b2J c1 \x9b2J \x1bP+q\x1b\ dcs \x1b]8;;http://x/\x1b\link' "$T/stderr" ||
  fail "the C1, DCS and OSC 8 sequences are not shown as text"
grep -qaF 'err| \x1b[2J split' "$T/stderr" || fail "a CSI split across two writes is not shown whole as text"
grep -qaxF 'err| gatebox: pass — exit code 0' "$T/stderr" ||
  fail "the gate's unterminated fake verdict is not a line of its own after 'err| '"
! grep -qa '^gatebox: pass' "$T/stderr" || fail "a fake verdict line reached the terminal unmarked"
[ "$(grep -ac '^gatebox: ' "$T/stderr")" = 1 ] || fail "expected exactly one line of gatebox's own (the verdict)"
last=$(tail -n 1 "$T/stderr")
case $last in
  "gatebox: fail — "*) ;;
  *) fail "expected gatebox's own verdict line last, got '$last'" ;;
esac
expect_no_leftovers

# Both streams on the terminal, plain asked for explicitly: both neutralised and marked.
gb_args "$PROFILE" --quiet
rm -f "$GB_REPORT" "$T/report.flat"
start=$(now_ms)
GB_EXIT=0
NO_COLOR=1 python3 "$E2E_DIR/pty_run.py" "$T/stdout" "$T/injected" 180 "${GB_ARGV[@]}" || GB_EXIT=$?
set_elapsed "$start"
cp "$T/stdout" "$T/stderr"
[ "$GB_EXIT" != 124 ] || fail "gatebox did not finish within 180s under a terminal"
expect_exit 1
! LC_ALL=C grep -qaP "$controls" "$T/stdout" ||
  fail "control bytes reached the terminal: $(LC_ALL=C grep -naP "$controls" "$T/stdout" | cat -v | head -n 3)"
grep -qaF 'out| out \x1b]0;pwned-out\x07\x1b[2J\x1b[1;1Hraw' "$T/stdout" || fail "the gate's stdout is not shown escaped after 'out| '"
! grep -qa '^gatebox: pass' "$T/stdout" || fail "a fake verdict line reached the terminal unmarked"
expect_verdict_line fail
expect_no_leftovers
pass
