#!/usr/bin/env bash
# A sandbox that cannot be set up is exit 70 (README, exit codes): never a verdict about
# the gate, the gate never ran, and nothing is left behind, after the stack had already
# made its run dir, cgroups, mounts or container. Each stack fails in its own real way:
#   native      limits.pids = 1: the pids cgroup leaves no room to start the gate beside init
#   docker      a runtime the daemon does not have: the daemon refuses the container
#   gvisor      a "runsc" that exits 1 at once (/bin/false), with seccomp unconfined so the
#               missing --oci-seccomp is not what stops it (that alone is 69, checked too)
#   qemu, firecracker  a boot deadline (GATEBOX_VM_BOOT_TIMEOUT=1) shorter than any boot
#   kubernetes  a pod no node can take (4 TiB of memory)
. "$(dirname "$0")/../lib.sh"

make_profile setup <<EOF2
name = "e2e-setup-failure"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", "echo gate-ran-$MARKER", "$MARKER"]
[limits]
timeout = "60s"
EOF2

case $GATEBOX_STACK in
  native) gb_run "$PROFILE" --set 'limits.pids=1'; why="sandbox set-up failed" ;;
  docker) gb_run "$PROFILE" --set "stack.docker.runtime=\"no-such-runtime-$MARKER\""; why="no-such-runtime-$MARKER" ;;
  gvisor)
    gb_run "$PROFILE" --set 'stack.gvisor.runsc="/bin/false"'
    expect_exit 69
    expect_stderr_has "has no --oci-seccomp"
    expect_no_leftovers
    gb_run "$PROFILE" --set 'stack.gvisor.runsc="/bin/false"' --set 'seccomp.profile="unconfined"'
    why="without making a sandbox"
    ;;
  qemu | firecracker)
    GB_PREFIX=(env GATEBOX_VM_BOOT_TIMEOUT=1)
    gb_run "$PROFILE"
    why="did not start within 1 s"
    if [ "$GB_EXIT" = 0 ]; then
      not_applicable "$CASE on $GATEBOX_STACK" "the guest booted within 1 s (KVM): no deadline short enough to fail set-up"
    fi
    ;;
  kubernetes) gb_run "$PROFILE" --set 'limits.memory="4TiB"'; why="unschedulable" ;;
  *) fail "no set-up failure is known for stack $GATEBOX_STACK" ;;
esac
expect_exit 70
expect_stderr_has "$why"
expect_stdout_lacks "gate-ran-$MARKER"
expect_report_has reason "$why"
expect_no_leftovers
pass "exit 70, nothing left: $why"
