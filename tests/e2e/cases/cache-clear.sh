#!/usr/bin/env bash
# `gatebox cache clear` takes with the rootfs trees what each stack keeps for them elsewhere
# (docker: the imported image; qemu, firecracker: the guest's base initramfs; kubernetes: the
# OCI layer) — but not what another cache's runs use — and the next run makes them again
# and passes. A private cache, so that the suite's shared one keeps its trees.
# timeout: 240
. "$(dirname "$0")/../lib.sh"

# An image of its own, so that this case's runs are the ones that import it into docker,
# build its initramfs, push its layer.
make_own_image marker-file
make_profile clear <<EOF2
name = "e2e-cache-clear"
[rootfs]
image = "$OWN_IMAGE"
[run]
argv = ["/bin/sh", "-c", "echo ran $MARKER"]
[limits]
timeout = "60s"
EOF2
GB_CACHE="$T/cache"
sha=$(sha256sum <"$OWN_IMAGE" | cut -d' ' -f1)

# What the stack keeps for this rootfs besides the tree, one line each; nothing when none.
kept_for_rootfs() {
  case $GATEBOX_STACK in
    qemu | firecracker) ls "$GB_CACHE"/vm/initramfs-"$sha"-* 2>/dev/null || true ;;  # the image and its .ram record
    kubernetes) ls "$GB_CACHE"/kubernetes/layers/"$sha".*.tar 2>/dev/null || true ;;
    docker)
      if command -v docker >/dev/null; then
        docker image ls -q --filter "label=gatebox.rootfs=$sha" 2>/dev/null || true
      fi
      ;;
  esac
}

gb_run "$PROFILE"
expect_exit 0
expect_stdout_has "ran $MARKER"
case $GATEBOX_STACK in
  qemu | firecracker | kubernetes | docker)
    [ -n "$(kept_for_rootfs)" ] || fail "after a run, nothing of the rootfs is kept by the $GATEBOX_STACK stack"
    ;;
esac

# Another cache's clear leaves all of it (the docker daemon is shared by every cache).
"$GB_BIN" cache clear --cache-dir "$T/other-cache" >"$T/other.out" 2>&1 || fail "cache clear of an empty cache: $(cat "$T/other.out")"
case $GATEBOX_STACK in
  qemu | firecracker | kubernetes | docker)
    [ -n "$(kept_for_rootfs)" ] || fail "cache clear of another cache removed what this cache's run left: $(cat "$T/other.out")"
    ;;
esac

GB_CMD="$GB_BIN cache clear --cache-dir $GB_CACHE"
GB_EXIT=0
"$GB_BIN" cache clear --cache-dir "$GB_CACHE" >"$T/stdout" 2>"$T/stderr" || GB_EXIT=$?
expect_exit 0
expect_stdout_has "${sha:0:12}"
[ -z "$("$GB_BIN" cache list --cache-dir "$GB_CACHE" 2>/dev/null)" ] || fail "cache clear left trees: $("$GB_BIN" cache list --cache-dir "$GB_CACHE")"
left=$(kept_for_rootfs)
[ -z "$left" ] || fail "cache clear left what the $GATEBOX_STACK stack keeps for the rootfs:
$left"
if [ "$GATEBOX_STACK" = qemu ] || [ "$GATEBOX_STACK" = firecracker ]; then
  # The kernel the VM stacks boot by default stays (extracting it again takes seconds).
  ls "$GB_CACHE"/vm/vmlinux-* >/dev/null 2>&1 || fail "cache clear removed the extracted kernel the stack boots by default"
fi

gb_run "$PROFILE"
expect_exit 0
expect_stdout_has "ran $MARKER"
expect_report rootfs.cache miss
expect_no_leftovers
pass
