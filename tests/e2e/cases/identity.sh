#!/usr/bin/env bash
# Who the gate is: run.user, no capabilities, no_new_privs, the profile's hostname, and
# only the profile's environment (nothing of the host's leaks in). Nor does gatebox's own
# command line: on native, PID 1 is a fork of gatebox, and its /proc/1/cmdline must show
# neither the profile's path nor a --set value.
. "$(dirname "$0")/../lib.sh"

make_profile identity <<EOF2
name = "e2e-identity"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", "echo uid=\$(id -u) gid=\$(id -g); /fixtures/sysprobe caps nnp; echo hostname=\$(hostname); env"]
hostname = "gb-$MARKER"
env = { PATH = "/usr/bin:/bin", FROM_PROFILE = "yes" }
[limits]
timeout = "60s"
EOF2

export "GB_HOST_LEAK_$MARKER=leaked"
gb_run "$PROFILE" -e FROM_CLI=also
expect_exit 0
expect_stdout_has "uid=65534 gid=65534"
expect_stdout_has "CapEff=0000000000000000"
if [ "$GATEBOX_STACK" = gvisor ]; then
  # gVisor's /proc/self/status has no NoNewPrivs line (config.json's noNewPrivileges is unit-tested).
  expect_stdout_lacks "NoNewPrivs=0"
else
  expect_stdout_has "NoNewPrivs=1"
fi
expect_stdout_has "hostname=gb-$MARKER"
expect_stdout_has "FROM_PROFILE=yes"
expect_stdout_has "FROM_CLI=also"
expect_stdout_lacks "GB_HOST_LEAK_$MARKER"
expect_no_leftovers

gb_run "$PROFILE" --set 'run.user="1000:1001"'
expect_exit 0
expect_stdout_has "uid=1000 gid=1001"
expect_stdout_has "CapEff=0000000000000000"
expect_no_leftovers

gb_run "$PROFILE" --set "run.env.CMDLINE_PROBE=\"set-$MARKER\"" -- /bin/sh -c 'echo "cmdline=$(tr "\000" " " </proc/1/cmdline)"'
expect_exit 0
expect_stdout_has "cmdline="
expect_stdout_lacks "set-$MARKER"
expect_stdout_lacks "$PROFILE"
expect_stdout_lacks "--set"
[ "$GATEBOX_STACK" != native ] || expect_stdout_has "cmdline=gatebox-sandbox-init "
expect_no_leftovers
pass
