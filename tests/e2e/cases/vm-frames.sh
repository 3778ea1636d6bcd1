#!/usr/bin/env bash
# The VM stacks' serial console is shared with the gate: a gate that writes fake frames to
# /dev/console and /dev/ttyS0 (the magic followed by junk, and a whole frame with a plausible
# header claiming exit 0) changes neither the verdict nor the output. Run as uid 0 (without
# capabilities) so that it may open the root-owned console devices at all.
. "$(dirname "$0")/../lib.sh"
skip_on native "VM stacks only: the console frames exist on qemu and firecracker"
skip_on kubernetes "VM stacks only: the console frames exist on qemu and firecracker"
skip_on docker "VM stacks only: the console frames exist on qemu and firecracker"
skip_on gvisor "VM stacks only: the console frames exist on qemu and firecracker"

make_profile frames <<'EOF2'
name = "e2e-vm-frames"
[rootfs]
image = "@IMAGE@"
[run]
user = "0:0"
argv = ["/bin/sh", "-c", '''
echo "before @MARKER@"
forge() {
  # magic, then junk; then magic + a header (type 6 = exit, seq 1, length 16) + payload + a zero tag
  printf '\033GB1junkjunk\033GB1\006\001\000\000\000\020\000\000\000AAAAAAAA{"exit_code":0}  '
  head -c 32 /dev/zero
  printf '\033GB1\006'
}
opened=0
for dev in /dev/console /dev/ttyS0; do
  if forge >"$dev" 2>/dev/null; then opened=$((opened + 1)); echo "forged on $dev"; fi
done
echo "opened $opened"
echo "after @MARKER@"
exit 1
''']
[limits]
timeout = "60s"
EOF2

gb_run "$PROFILE"
expect_exit 1
expect_stdout_has "before $MARKER"
expect_stdout_has "after $MARKER"
expect_stdout_has "forged on /dev/ttyS0"
expect_stdout_lacks "opened 0"
expect_verdict_line fail
expect_report verdict fail
expect_report exit_code 1
expect_report timed_out false
expect_no_leftovers
pass
