#!/usr/bin/env bash
# uid 0 in a root-mode native sandbox is not host root: a user namespace maps the sandbox's
# ids to an unprivileged host range (2^30 to 2^31), so a key the gate puts into "its" user
# keyring lands in that uid's, never in host root's (the review's finding 5, which seccomp
# unconfined made reachable). The other stacks: gVisor and the VMs run the gate under a
# kernel of their own, kubernetes refuses uid 0, and docker's uid 0 is the daemon's choice
# (userns-remap), which gatebox cannot make per container.
. "$(dirname "$0")/../lib.sh"
only_on native
[ "$(id -u)" = 0 ] || not_applicable "$CASE on native" "unprivileged, the user namespace maps run.user to the caller (case unprivileged)"

make_profile hostuid <<EOF2
name = "e2e-host-uid"
[rootfs]
image = "$IMAGE"
[run]
user = "0:0"
argv = ["/bin/sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; ls -ln /bin/busybox; /fixtures/sysprobe keyctl-user; echo done-$MARKER"]
[seccomp]
profile = "unconfined"
[limits]
timeout = "60s"
EOF2

# Keys of host uid 0 with the probe's description, as root sees them in /proc/keys (a key
# of another uid is not shown to it). Counted before and after: an earlier run's stays.
root_keys() { awk '$6 == 0 && $9 ~ /^gatebox-probe-user/ { n++ } END { print n + 0 }' /proc/keys; }
before=$(root_keys)
gb_run "$PROFILE"
expect_exit 0
expect_stdout_has "done-$MARKER"
expect_stdout_has "keyctl-user ok"
read -r inside outside count < <(head -n 1 "$T/stdout")
[ "$inside" = 0 ] && [ "$count" = 65536 ] || fail "expected uid_map '0 <base> 65536', got '$inside $outside $count'"
[ "$outside" -ge $((1 << 30)) ] && [ "$outside" -lt $((1 << 31)) ] ||
  fail "the sandbox's uid 0 is host uid $outside, not one of the unprivileged range"
# The image's files look as the image has them: busybox belongs to root inside.
awk '/busybox/ { exit !($3 == 0 && $4 == 0) }' "$T/stdout" || fail "the tree's owners are not mapped back (ls -ln above)"
[ "$(root_keys)" = "$before" ] || fail "host root has $(root_keys) probe keys, $before before the run: the gate's key went to root"
grep -q "^ *$outside:" /proc/key-users || fail "no key of host uid $outside: where did the gate's key go?"
expect_no_leftovers
pass "uid 0 inside is host uid $outside; root's keys unchanged"
