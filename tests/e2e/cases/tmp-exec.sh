#!/usr/bin/env bash
# A program written into /tmp runs, on every stack (a gate that compiles its test binary
# into /tmp and runs it). Where /tmp is a mount of its own it is not noexec.
. "$(dirname "$0")/../lib.sh"

make_profile tmpexec <<EOF2
name = "e2e-tmp-exec"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", "printf '#!/bin/sh\\\\necho ran-from-tmp\\\\n' > /tmp/t.sh && chmod 755 /tmp/t.sh && /tmp/t.sh; mkdir /tmp/b && cp /bin/busybox /tmp/b/busybox && /tmp/b/busybox echo busybox-from-tmp; grep ' /tmp ' /proc/mounts; true", "$MARKER"]
[limits]
timeout = "60s"
EOF2

gb_run "$PROFILE"
expect_exit 0
expect_stdout_has ran-from-tmp
expect_stdout_has busybox-from-tmp
opts=$(awk '$2 == "/tmp" { print $4 }' "$T/stdout" | tail -n 1)
case ",$opts," in *,noexec,*) fail "/tmp is noexec: $opts" ;; esac
expect_no_leftovers
pass
