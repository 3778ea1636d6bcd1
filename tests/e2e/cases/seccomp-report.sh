#!/usr/bin/env bash
# seccomp.report (--seccomp-report): the calls the policy denied are listed with counts, in
# the report and in one line just before the verdict line, with the --set that allows them.
# The gate sees exactly what it sees without the report. On the stacks that cannot listen
# (docker, gvisor, the VMs) gatebox warns, runs anyway, and the report says why.
. "$(dirname "$0")/../lib.sh"

make_profile seccomp-report <<EOF2
name = "e2e-seccomp-report"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", "/fixtures/sysprobe --no-fork bpf bpf perf_event_open getcwd", "$MARKER"]
[limits]
timeout = "60s"
EOF2

# The baseline: no report asked for.
gb_run "$PROFILE"
expect_exit 0
expect_stdout_has "bpf denied EPERM"
expect_report seccomp.report false
expect_report seccomp.denied null
cp "$T/stdout" "$T/stdout.without"

gb_run "$PROFILE" --seccomp-report
expect_exit 0
cmp -s "$T/stdout" "$T/stdout.without" || fail "the gate's output changed with --seccomp-report: $(diff "$T/stdout.without" "$T/stdout" | head -5)"
if [ "$GATEBOX_STACK" != native ]; then
  expect_stderr_has "seccomp reports are available on the native stack only ($GATEBOX_STACK:"
  expect_verdict_line pass
  expect_report seccomp.report false
  expect_report seccomp.denied null
  expect_report_has seccomp.why "$GATEBOX_STACK"
  expect_no_leftovers
  pass
fi
expect_verdict_line pass
expect_report seccomp.report true
expect_report seccomp.denied '{"bpf": 2, "perf_event_open": 1}'
expect_report seccomp.why null
line="gatebox: seccomp denied: bpf ×2, perf_event_open ×1 — to allow them: --set 'seccomp.allow=[\"bpf\",\"perf_event_open\"]'"
[ "$(tail -n 2 "$T/stderr" | head -n 1)" = "$line" ] || fail "expected the line before the verdict line to be: $line"
expect_no_leftovers

# Following the advice: seccomp lets them through (the kernel may still refuse bpf to an
# unprivileged user, but that is not the filter's doing).
gb_run "$PROFILE" --seccomp-report --set 'seccomp.allow=["bpf","perf_event_open"]'
expect_exit 0
expect_report seccomp.denied '{}'
expect_stderr_has "gatebox: seccomp denied no system calls"

# --quiet: the verdict line alone.
gb_run "$PROFILE" --seccomp-report --quiet
expect_exit 0
[ "$(wc -l <"$T/stderr")" = 1 ] || fail "expected only the verdict line under --quiet"
expect_verdict_line pass

# The profile key does the same. With action = "kill" the counted call still kills the gate,
# seen as SIGSYS as without the report; with "log" it is counted and let through.
gb_run "$PROFILE" --set seccomp.report=true --set 'seccomp.action="kill"' -- /fixtures/sysprobe --no-fork getcwd bpf getcwd
expect_exit 1
expect_report signal 31
expect_report seccomp.denied '{"bpf": 1}'
expect_stdout_has "getcwd ok"

gb_run "$PROFILE" --set seccomp.report=true --set 'seccomp.action="log"' --set 'seccomp.deny=["getcwd"]' -- /fixtures/sysprobe --no-fork getcwd
expect_exit 0
expect_stdout_has "getcwd ok"
expect_report seccomp.denied '{"getcwd": 1}'
expect_no_leftovers

# The same call from a second thread of the gate: the notification names the thread, and the
# whole process is killed all the same, as the kernel's own kill (no report) does.
gb_run "$PROFILE" --set 'seccomp.action="kill"' -- /fixtures/sysprobe --thread getcwd bpf getcwd
expect_exit 1
expect_report signal 31
gb_run "$PROFILE" --set seccomp.report=true --set 'seccomp.action="kill"' -- /fixtures/sysprobe --thread getcwd bpf getcwd
expect_exit 1
expect_verdict_line fail
expect_report verdict fail
expect_report signal 31
expect_report seccomp.denied '{"bpf": 1}'
[ "$(grep -c '^getcwd ok$' "$T/stdout")" = 1 ] || fail "expected one 'getcwd ok' (the call before bpf), then nothing more"
expect_stdout_lacks "bpf denied"
expect_no_leftovers

# Unprivileged (a user namespace): init needs the gate dumpable to take its listener.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && [ "$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 1)" != 0 ]; then
  chmod 0711 "$T"
  home="$T/nobody"
  mkdir -m 0777 "$home" "$home/cache"
  install -m 0755 "$GATEBOX" "$home/gatebox"
  install -m 0644 "$IMAGE" "$home/image.tar.zst"
  sed "s|$IMAGE|$home/image.tar.zst|" "$PROFILE" >"$home/gate.toml"
  chmod 0644 "$home/gate.toml"
  GB_BIN="$home/gatebox" GB_CACHE="$home/cache" GB_REPORT="$home/report.json"
  GB_PREFIX=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all
    env -i "PATH=$PATH" "HOME=$home" "GATEBOX_CACHE=$home/cache")
  rm -f "$T/report.flat"
  gb_run "$home/gate.toml" --seccomp-report
  # Only where the kernel refuses unprivileged user namespaces may nobody get 69 here.
  if [ "$(cat /proc/sys/kernel/unprivileged_userns_clone 2>/dev/null || echo 1)" = 0 ] ||
    [ "$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 1)" = 0 ]; then
    expect_exit 69
    echo "NOTE: unprivileged user namespaces are off here: nobody's run was refused (69)"
  else
    expect_exit 0
    expect_stdout_has "bpf denied EPERM"
    expect_report seccomp.denied '{"bpf": 2, "perf_event_open": 1}'
    expect_no_leftovers
  fi
fi
pass
