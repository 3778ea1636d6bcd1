#!/usr/bin/env bash
# A gate that attacks the host, run as uid 0 (without capabilities) by a gatebox that itself
# sits on a real terminal, as a user would run it. One run tries everything, a line each:
# - writes to every visible /proc/PID/exe (gatebox's own sandbox init on the native stack),
#   directly and through a re-opened O_PATH descriptor; PTRACE_ATTACH to PID 1;
# - TIOCSTI on fds 0-2 and /dev/tty, plain and in the high-bit form: nothing may reach the
#   input queue of gatebox's terminal;
# - writes to /proc/sysrq-trigger and /proc/sys/kernel/core_pattern;
# - an environment dump, and a search of every /proc/PID/environ, for a variable set only in
#   gatebox's environment;
# - a daemon (setsid, double fork, holding the output pipes) left behind at exit;
# - a fake "gatebox: pass" verdict line, before exiting 1.
# Then a gate whose program is a '#!/proc/self/exe' script (the runtime's own binary, were
# the interpreter looked up in the runtime's context), and terminal escapes and fake verdicts
# in the prefixed and json log formats. gatebox runs from a copy, so that a write that got
# through would be seen (and would harm nothing).
# On docker, gvisor and kubernetes PID 1 is the gate's own shell, so attaching to it is the gate's own
# business; gVisor lets the gate open its own running binary for writing (no ETXTBSY), which
# lands in runsc's in-memory overlay: the cached tree on the host must not change. Under qemu
# and firecracker PID 1 is gatebox's guest agent, which holds the frame secret: it must refuse.
# timeout: 300
. "$(dirname "$0")/../lib.sh"
command -v python3 >/dev/null || skip "python3 is needed to give gatebox a terminal"

boot=0
case $GATEBOX_STACK in qemu | firecracker) boot=60 ;; esac
# kubernetes refuses uid 0 (runAsNonRoot): there the same attacks come from nobody.
user="0:0"
[ "$GATEBOX_STACK" != kubernetes ] || user="65534:65534"

install -m 0755 "$GATEBOX" "$T/gatebox"
GB_BIN="$T/gatebox"
# The copy looks for the VM stacks' guest agent next to itself; point it at the real one.
if [ -z "${GATEBOX_AGENT:-}" ] && [ -x "$(dirname "$GATEBOX")/gatebox-init" ]; then
  export GATEBOX_AGENT
  GATEBOX_AGENT="$(dirname "$GATEBOX")/gatebox-init"
fi
binary_sum=$(sha256sum <"$GB_BIN")
core_pattern=$(cat /proc/sys/kernel/core_pattern)
secret="SECRET-$MARKER"

check_host_unchanged() {
  [ "$(sha256sum <"$GB_BIN")" = "$binary_sum" ] || fail "$1: gatebox's binary was written from inside the sandbox"
  local now
  now=$(cat /proc/sys/kernel/core_pattern)
  if [ "$now" != "$core_pattern" ]; then
    echo "$core_pattern" >/proc/sys/kernel/core_pattern || true
    fail "$1: the host's core_pattern was changed to '$now' (restored)"
  fi
  # The image's cached tree (the lower layer of every stack that uses it).
  local tree written
  tree="$GB_CACHE/rootfs/$(report_get rootfs.sha256)"
  [ -d "$tree" ] || fail "$1: no cached tree at $tree"
  written=$(grep -rlF gatebox-pwned "$tree" 2>/dev/null | head -n 3 || true)
  [ -z "$written" ] || fail "$1: a write from inside the sandbox reached the host: $written"
}

make_profile hostile <<EOF2
name = "e2e-hostile-gate"
[rootfs]
image = "$IMAGE"
[run]
user = "$user"
argv = ["/bin/sh", "-c", '''
/fixtures/hostile exe ptrace-init tiocsti "echo INJECTED-$MARKER
" sysrq core-pattern "core-$MARKER" environ "$secret"
echo env-dump-begin; env; echo env-dump-end
( setsid sh -c 'sleep 600; :' daemon-$MARKER & )
echo "gatebox: pass — exit code 0 ($GATEBOX_STACK, 0.01s)"
echo "gatebox: pass — exit code 0 ($GATEBOX_STACK, 0.01s)" >&2
exit 1
''']
[limits]
timeout = "60s"
EOF2

# Under a terminal: gatebox's stdin, stdout, stderr and controlling terminal are one pty.
gb_args "$PROFILE"
rm -f "$GB_REPORT" "$T/report.flat"
start=$(now_ms)
GB_EXIT=0
env "GB_HOST_$MARKER=$secret" python3 "$E2E_DIR/pty_run.py" "$T/stdout" "$T/injected" 180 "${GB_ARGV[@]}" ||
  GB_EXIT=$?
set_elapsed "$start"
cp "$T/stdout" "$T/stderr"
[ "$GB_EXIT" != 124 ] || fail "gatebox did not finish within 180s under a terminal"

expect_exit 1
expect_report verdict fail
expect_report exit_code 1
# On a terminal gatebox colours the verdict word.
last=$(grep -a 'gatebox: ' "$T/stdout" | tail -n 1 | sed 's/\x1b\[[0-9;]*m//g')
case $last in
  "gatebox: fail — "*) ;;
  *) fail "expected gatebox's own verdict line last, got '$last'" ;;
esac
expect_stdout_has env-dump-end
expect_stdout_lacks "$secret"
expect_stdout_lacks "environ found"
expect_stdout_has "environ searched"
# The fake verdict lines show as the gate's, never as a line of gatebox's own.
! grep -qa '^gatebox: pass' "$T/stdout" || fail "a fake verdict line reached the terminal unmarked"
grep -qaF "out| gatebox: pass — exit code 0 ($GATEBOX_STACK, 0.01s)" "$T/stdout" ||
  fail "the fake verdict line is not shown after 'out| '"
[ ! -s "$T/injected" ] || fail "the gate typed into gatebox's terminal: '$(cat -v "$T/injected")'"
for attempt in "tiocsti fd0 plain" "tiocsti fd0 high-bit" "tiocsti fd1 plain" "tiocsti fd2 high-bit" \
  "sysrq write" "core-pattern write" "exe 1 "; do
  grep -qaF "$attempt" "$T/stdout" || fail "the gate printed no result for '$attempt'"
done
# Every attempt refused, but for the allowances in the header.
allowed='^$'
case $GATEBOX_STACK in
  docker | kubernetes) allowed='^ptrace-init attach ok' ;;
  gvisor) allowed='^exe [0-9]+ /fixtures/hostile (write|reopen) ok|^ptrace-init attach ok' ;;
esac
# (plain on a terminal: each of the gate's lines shows after "out| ", or "err| ".)
let_through=$(grep -aE '^(out|err)\| (exe|ptrace-init|tiocsti|sysrq|core-pattern) .* ok\r?$' "$T/stdout" |
  sed -E 's/^(out|err)\| //' | grep -avE "$allowed" || true)
[ -z "$let_through" ] || fail "attacks that got through:
$let_through"
check_host_unchanged "the hostile gate"
# The daemon holds the gate's output pipes (and sleeps 600 s): the run must still end when
# the gate does, not at the profile's 60 s timeout, nor when the daemon's sleep ends. (A hang
# bound only, far above any stack's start-up on a loaded machine.)
expect_report timed_out false
expect_faster_than $((150 + boot))
expect_no_leftovers

# A gate program whose interpreter is /proc/self/exe.
mkdir "$T/payload"
printf '#!/proc/self/exe\n' >"$T/payload/selfexe"
chmod 0755 "$T/payload/selfexe"
GB_BIN="$T/gatebox"
gb_run "$PROFILE" -m "$T/payload:/payload" -- /payload/selfexe "selfexe-$MARKER"
case $GB_EXIT in
  1 | 2) ;;
  *) fail "a '#!/proc/self/exe' gate: expected a fail or an error, got exit code $GB_EXIT" ;;
esac
expect_verdict_line "$(report_get verdict)"
check_host_unchanged "the '#!/proc/self/exe' gate"
expect_no_leftovers

# Escapes and fake verdicts in the prefixed format, and in the json log file.
gb_run "$PROFILE" --log-format prefixed --log-file "$T/log.jsonl" -- /bin/sh -c '
printf "\033[1A\033[2K\rgatebox: pass — exit code 0 (native, 0.01s)\n" >&2
printf "\033]0;pwned\007\033]8;;http://x/\033\\\\link\033]8;;\033\\\\\n"
printf "\302\233""31mc1-csi \233""2J raw-c1 \033P+q\033\\\\ dcs\n"
printf "gatebox: pass — exit code 0 (native, 0.01s)" >&2
exit 1'
expect_exit 1
expect_verdict_line fail
expect_report verdict fail
if LC_ALL=C grep -qaP '[\x00-\x08\x0b-\x1f\x7f\x9b]|\xc2[\x80-\x9f]' "$T/stdout"; then
  fail "control bytes reached gatebox's stdout in the prefixed format: $(LC_ALL=C grep -naP '[\x00-\x08\x0b-\x1f\x7f\x9b]|\xc2[\x80-\x9f]' "$T/stdout" | cat -v | head -n 3)"
fi
# (kubernetes merges the gate's streams: its stderr lines arrive tagged "out".)
err_tag=err
[ "$GATEBOX_STACK" != kubernetes ] || err_tag=out
grep -qE "^[0-9:.]+ $err_tag\\| \\\\x1b\\[1A\\\\x1b\\[2K\\\\x0dgatebox: pass" "$T/stdout" || fail "the forged erase-and-verdict line is not shown escaped"
grep -qE "^[0-9:.]+ $err_tag\\| gatebox: pass" "$T/stdout" || fail "the unterminated fake verdict line is not shown as the gate's"
! grep -qE '^gatebox: pass' "$T/stdout" || fail "a fake verdict line reached stdout unprefixed"
python3 - "$T/log.jsonl" <<'PY' || fail "the json log is not as expected"
import json, os, sys
lines = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
texts = [l["text"] for l in lines]
# kubernetes: the log API merges the streams in the order the runtime wrote them, so the
# unterminated stderr line may run into a stdout line that the runtime wrote after it.
assert len(texts) >= (3 if os.environ.get("GATEBOX_STACK") == "kubernetes" else 4), texts
for t in texts:
    assert not any(ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f for c in t), repr(t)
assert any(t.startswith("\\x1b[1A\\x1b[2K\\x0dgatebox: pass") for t in texts), texts
assert any("\\xc2\\x9b31mc1-csi \\x9b2J" in t for t in texts), texts
PY
expect_no_leftovers
pass
