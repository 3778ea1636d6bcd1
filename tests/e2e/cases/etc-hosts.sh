#!/usr/bin/env bash
# /etc/hosts names localhost on every stack, whatever the image brings (debootstrap's has
# none, and a gate that serves and connects on "localhost" then failed on native, gvisor
# and qemu while it passed on docker and kubernetes). native, gvisor and the VMs write
# gatebox's own (with the sandbox's hostname); docker and the kubelet write theirs. The
# image's file, a symlink out of the tree included, is never what the gate reads, and the
# cached tree keeps its own.
. "$(dirname "$0")/../lib.sh"

make_profile hosts <<EOF2
name = "e2e-etc-hosts"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", "cat /etc/hosts; echo end-$MARKER", "$MARKER"]
hostname = "gate-$MARKER"
[limits]
timeout = "60s"
EOF2

gb_run "$PROFILE"
expect_exit 0
expect_stdout_has "end-$MARKER"
grep -qE '^127\.0\.0\.1[[:space:]]+localhost([[:space:]]|$)' "$T/stdout" ||
  fail "/etc/hosts does not map localhost to 127.0.0.1: $(head -c 500 "$T/stdout")"
case $GATEBOX_STACK in
  native | gvisor | qemu | firecracker)
    expect_stdout_has "gate-$MARKER"
    expect_stdout_has "::1	localhost"
    ;;
esac
expect_no_leftovers

# An image without /etc/hosts (as debootstrap makes them), then one whose /etc/hosts is a
# symlink to a host file: localhost all the same, and the link replaced, never followed.
zstd -dc "$IMAGE" >"$T/none.tar"
tar --delete -f "$T/none.tar" ./etc/hosts
sed "s|^image = .*|image = \"$T/none.tar\"|" "$PROFILE" >"$T/none.toml"
gb_run "$T/none.toml"
expect_exit 0
grep -qE '^127\.0\.0\.1[[:space:]]+localhost' "$T/stdout" || fail "/etc/hosts lacks localhost when the image has none"
expect_no_leftovers

echo "10.9.9.9 host-secret-$MARKER" >"$T/host-hosts"
mkdir -p "$T/img/etc"
ln -s "$T/host-hosts" "$T/img/etc/hosts"
cp "$T/none.tar" "$T/link.tar"
tar --append -f "$T/link.tar" -C "$T/img" ./etc/hosts
sed "s|^image = .*|image = \"$T/link.tar\"|" "$PROFILE" >"$T/link.toml"
gb_run "$T/link.toml"
expect_exit 0
expect_stdout_lacks "host-secret-$MARKER"
grep -qE '^127\.0\.0\.1[[:space:]]+localhost' "$T/stdout" || fail "/etc/hosts lacks localhost when the image's is a symlink"
[ "$(cat "$T/host-hosts")" = "10.9.9.9 host-secret-$MARKER" ] || fail "the host file behind the image's symlink changed"
expect_no_leftovers
pass
