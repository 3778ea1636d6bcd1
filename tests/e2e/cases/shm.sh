#!/usr/bin/env bash
# /dev/shm is a bounded tmpfs (README: native and docker "a /dev/shm of at most 64 MiB";
# gvisor's and a pod's are the runtime's, likewise bounded): a gate that writes 200 MiB
# into it gets ENOSPC well before that, and nothing reaches the host.
. "$(dirname "$0")/../lib.sh"

make_profile shm <<EOF2
name = "e2e-shm"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", "if dd if=/dev/zero of=/dev/shm/fill bs=1M count=200 2>/dev/null; then echo shm-unbounded; else echo shm-full; fi; echo shm-kib=\$(du -k /dev/shm/fill | cut -f1)", "$MARKER"]
[limits]
timeout = "60s"
memory = "512MiB"
disk = "256MiB"
EOF2

gb_run "$PROFILE"
expect_exit 0
case $GATEBOX_STACK in
  qemu | firecracker)
    # The guest's /dev/shm lives in guest RAM: bounded by the VM's memory, not a host disk.
    echo "NOTE: $GATEBOX_STACK: /dev/shm is guest memory; $(grep -E '^shm-' "$T/stdout" | tr '\n' ' ')"
    ;;
  *)
    expect_stdout_has shm-full
    kib=$(sed -n 's/^shm-kib=//p' "$T/stdout")
    [ -n "$kib" ] && [ "$kib" -le $((64 * 1024 + 1024)) ] || fail "/dev/shm took ${kib:-?} KiB; expected at most 64 MiB"
    ;;
esac
expect_no_leftovers
pass
