#!/usr/bin/env bash
# limits.disk bounds the writable layer: writing more gives ENOSPC inside the sandbox, in /tmp
# and (for a uid-0 gate) anywhere else in its root; and creating empty files stops at the
# inode bound that comes with it.
. "$(dirname "$0")/../lib.sh"

make_profile disk <<EOF2
name = "e2e-disk"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", "dd if=/dev/zero of=/tmp/big-$MARKER bs=1M count=64; echo dd-exit=\$?"]
[limits]
timeout = "60s"
disk = "16MiB"
EOF2

if [ "$GATEBOX_STACK" = kubernetes ]; then
  # limits.disk is the pod's ephemeral-storage limit and /tmp's sizeLimit: the kubelet
  # enforces both by evicting the pod (its eviction manager looks every 10 s), not with
  # ENOSPC. A gate that writes past them and keeps running is evicted: verdict error.
  gb_run "$PROFILE" -- /bin/sh -c "dd if=/dev/zero of=/tmp/big-$MARKER bs=1M count=64; echo dd-exit=\$?; sleep 90"
  expect_exit 2
  expect_report verdict error
  expect_stderr_has "evicted"
  expect_no_leftovers
  pass "over limits.disk: evicted by the kubelet"
fi

gb_run "$PROFILE"
expect_exit 0
expect_stderr_has "No space left on device"
expect_stdout_lacks "dd-exit=0"
expect_no_leftovers

# A gate running as uid 0 may write anywhere in its root, not only in /tmp: the same bound.
# (gVisor refuses uid 0 without capabilities a write to / at all.)
gb_run "$PROFILE" --set 'run.user="0:0"' -- /bin/sh -c \
  "dd if=/dev/zero of=/big-$MARKER bs=1M count=64; echo dd-exit=\$?; ls -l /big-$MARKER; true"
expect_exit 0
size=$(awk -v f="/big-$MARKER" '$NF == f { print $5 }' "$T/stdout")
case $GATEBOX_STACK in
  qemu | firecracker)
    # The guest's root is its initramfs, in the VM's RAM: bounded by the VM's memory size
    # (limits.memory), never the host's disk. limits.disk bounds /tmp only.
    ;;
  docker)
    # Known gap (README, docker): the container's writable layer lives on the daemon's disk,
    # and only overlay2-on-xfs-with-pquota, btrfs or zfs daemons can size it (StorageOpt);
    # gatebox does not set it yet. Reported, not asserted.
    echo "NOTE: docker: uid 0 wrote ${size:-0} bytes outside /tmp; limits.disk bounds /tmp only on this daemon"
    ;;
  *)
    expect_stdout_lacks "dd-exit=0"
    [ -z "$size" ] || [ "$size" -le $((16 * 1024 * 1024)) ] ||
      fail "uid 0 wrote $size bytes outside /tmp under limits.disk = 16MiB"
    ;;
esac
expect_no_leftovers

# Inodes: empty files cost no blocks, so the byte limit alone would not stop this.
if [ "$GATEBOX_STACK" = gvisor ]; then
  # runsc's overlay lives in the sandbox's memory: its files count against limits.memory,
  # and runsc takes no inode bound; creating files through the ptrace platform is also slow
  # (~5,000 a second), so the memory bound is not reached within the case's time.
  pass "inodes: not bounded by limits.disk on gvisor (its overlay counts against limits.memory)"
fi
gb_run "$PROFILE" -- /fixtures/hostile inodes /tmp 200000 -- "$MARKER"
expect_exit 0
expect_stdout_has "inodes created"
expect_stdout_lacks "no limit reached"
made=$(sed -n 's/^inodes created \([0-9]*\) then .*/\1/p' "$T/stdout")
expect_no_leftovers
pass "inodes: $made files, then $(sed -n 's/^inodes created [0-9]* then //p' "$T/stdout")"
