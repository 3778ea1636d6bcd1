#!/usr/bin/env bash
# The pass case run by an ordinary user (nobody), with its own cache.
. "$(dirname "$0")/../lib.sh"
skip_on gvisor "runsc needs root (namespaces, chroot, cgroups); gatebox does not use its --rootless mode"
skip_on docker "the Docker daemon's socket belongs to root (and whoever can use it is root on this host); nobody cannot reach it"

[ "$(id -u)" = 0 ] || skip "the suite already runs unprivileged (uid $(id -u)); this case switches from root to nobody"
command -v setpriv >/dev/null || skip "setpriv (util-linux) is missing"
if [ -r /proc/sys/kernel/unprivileged_userns_clone ] && [ "$(cat /proc/sys/kernel/unprivileged_userns_clone)" != 1 ]; then
  skip "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0)"
fi
if [ "$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 1)" = 0 ]; then
  skip "user namespaces are disabled (user.max_user_namespaces = 0)"
fi

# Copies nobody can read, whatever the permissions of the build tree.
chmod 0711 "$T"
home="$T/nobody"
mkdir -m 0777 "$home" "$home/cache"
install -m 0755 "$GATEBOX" "$home/gatebox"
# The VM stacks' guest agent (and the probe) live next to the binary.
for helper in gatebox-init gatebox-probe; do
  [ ! -f "$(dirname "$GATEBOX")/$helper" ] || install -m 0755 "$(dirname "$GATEBOX")/$helper" "$home/$helper"
done
install -m 0644 "$IMAGE" "$home/image.tar.zst"
IMAGE="$home/image.tar.zst"

make_profile pass <<EOF2
name = "e2e-unprivileged"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", "echo hello from the gate $MARKER; id -u"]
[limits]
timeout = "60s"
EOF2
chmod 0644 "$PROFILE"

GB_BIN="$home/gatebox"
GB_CACHE="$home/cache"
GB_REPORT="$home/report.json"
GB_PREFIX=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all
  env -i "PATH=$PATH" "HOME=$home" "GATEBOX_CACHE=$home/cache")
# The kubernetes stack needs no privilege on this host at all: only the cluster's
# kubeconfig (readable by all on the test cluster) and the registry.
[ "$GATEBOX_STACK" != kubernetes ] || GB_PREFIX+=("KUBECONFIG=${KUBECONFIG:-}")
gb_run "$PROFILE"
# The prerequisites (user namespaces, setpriv) were checked above: a stack that is
# unavailable to nobody here is a failure, not a reason to skip.
expect_exit 0
expect_stdout_has "hello from the gate $MARKER"
expect_report verdict pass
expect_no_leftovers
pass
