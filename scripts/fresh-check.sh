#!/usr/bin/env bash
# fresh-check.sh [--run-only] [--keep] [--rev REV] — runs the README's two commands,
# `sudo make run` then `sudo make test`, in a fresh Debian 12 minbase container, and prints
# the time each took. Proves that the project's own files install everything it needs: a
# green run on a development machine can hide a package that only that machine had.
#
# The container: a debootstrap --variant=minbase bookworm tree with only what a user needs
# to get the source (git, make, sudo), made once and cached as
# /var/cache/gatebox-fresh/bookworm-minbase.tar (delete it to remake it); a clone of the
# committed REV (default HEAD) in /root/gatebox (the tests read nothing outside the clone). It runs in new mount, PID, UTS and IPC namespaces with its own /proc, /run, /tmp
# and /dev/shm, pivot_root'ed into the tree; it shares the host's network (for apt), /sys
# (cgroups) and /dev (kvm, tun, loop), as a machine of its own would have them.
#
#   --run-only   only `sudo make run`
#   --base-only  only make the cached base tree (if missing), run nothing
#   --keep       keep the container's tree (under /var/tmp/gatebox-fresh.*) for a look
#   --rev REV    the commit to clone (default HEAD; uncommitted changes are not in it)
#
# Root only. The test cluster of the container uses the same veth and addresses as the
# host's (tests/k8s/cluster.sh), so no cluster may run on the host meanwhile. Prints a
# summary: each command's wall time and exit status; exits 0 only if both passed.
# The whole log is kept in /var/tmp/gatebox-fresh-<time>.log.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD

run_test=true
base_only=false
keep=false
rev=HEAD
while [ $# -gt 0 ]; do
  case $1 in
    --run-only) run_test=false ;;
    --base-only) base_only=true ;;
    --keep) keep=true ;;
    --rev) rev=$2; shift ;;
    -h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fresh-check: unknown argument '$1' (see --help)" >&2; exit 64 ;;
  esac
  shift
done

die() { echo "fresh-check: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (it makes a container): sudo $0"
if ! $base_only && ip link show e2ek8s0 >/dev/null 2>&1; then
  die "a test cluster runs on this host (veth e2ek8s0): stop it first (tests/k8s/cluster.sh stop)"
fi
commit=$(git rev-parse --verify "$rev^{commit}") || die "no commit '$rev'"
if [ "$rev" = HEAD ] && [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  echo "fresh-check: note: uncommitted changes are not part of the check (it clones $commit)"
fi

cache=/var/cache/gatebox-fresh
base=$cache/bookworm-minbase.tar
mirror=http://deb.debian.org/debian
stamp=$(date -u +%Y%m%dT%H%M%S)
log=/var/tmp/gatebox-fresh-$stamp.log
mkdir -p "$cache"

# --- the base tree, once -------------------------------------------------------------------
if [ ! -f "$base" ]; then
  if ! command -v debootstrap >/dev/null; then
    echo "fresh-check: installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null
  fi
  tmp=$(mktemp -d /var/tmp/gatebox-fresh-base.XXXXXX)
  trap 'rm -rf "$tmp"' EXIT
  echo "fresh-check: debootstrap --variant=minbase bookworm (once; cached in $base)"
  debootstrap --variant=minbase bookworm "$tmp" "$mirror" >"$tmp.log" 2>&1 ||
    { tail -n 20 "$tmp.log" >&2; die "debootstrap failed (log $tmp.log)"; }
  rm -f "$tmp.log"
  # The host's way to the archive (its sources and its apt settings, e.g. for a snapshot
  # mirror whose Release files are past their Valid-Until), so apt inside reaches what the
  # host reaches. Nothing else of the host's goes in.
  rm -f "$tmp/etc/apt/sources.list"
  cp /etc/apt/sources.list.d/debian.sources "$tmp/etc/apt/sources.list.d/" 2>/dev/null ||
    cp /etc/apt/sources.list "$tmp/etc/apt/sources.list"
  for f in /etc/apt/apt.conf.d/*; do
    grep -qE '^Acquire::(Check-Valid-Until|Check-Date|http::Proxy|https::Proxy)' "$f" 2>/dev/null &&
      cp "$f" "$tmp/etc/apt/apt.conf.d/"
  done
  cp /etc/resolv.conf "$tmp/etc/resolv.conf"
  mount -t proc proc "$tmp/proc"
  rc=0
  chroot "$tmp" /bin/sh -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends git make sudo ca-certificates && apt-get clean' \
    >"$cache/base.log" 2>&1 || rc=$?
  umount "$tmp/proc"
  [ "$rc" = 0 ] || { tail -n 20 "$cache/base.log" >&2; die "installing git, make and sudo failed (log $cache/base.log)"; }
  chmod 0755 "$tmp"  # "." of the archive is the container's "/": mktemp made it 0700
  tar -C "$tmp" -cf "$base.part" . && mv "$base.part" "$base"
  rm -rf "$tmp"
  trap - EXIT
fi

$base_only && { echo "fresh-check: base tree $base"; exit 0; }

# --- this run's container ------------------------------------------------------------------
root=$(mktemp -d /var/tmp/gatebox-fresh.XXXXXX)
# mktemp makes it 0700: as the container's "/", that would keep every non-root user of the
# container (runsc's sandbox, tests that drop to nobody) from reaching any file.
chmod 0755 "$root"
ns_pid=
cleanup() {
  local rc=$?
  # The container's processes first: unshare --kill-child takes its PID namespace down
  # with it, whatever ended this script.
  if [ -n "$ns_pid" ] && kill -0 "$ns_pid" 2>/dev/null; then
    kill -KILL "$ns_pid" 2>/dev/null || true
    wait "$ns_pid" 2>/dev/null || true
  fi
  # The namespaces end with their last process; their mounts with them. What the container
  # made in the host's shared parts (cgroups under /sys/fs/cgroup) its own `make test`
  # stopped; empty ones of its daemons that remain are removed here.
  for d in /sys/fs/cgroup/*/kubepods* /sys/fs/cgroup/kubepods* /sys/fs/cgroup/*/docker /sys/fs/cgroup/docker; do
    [ -d "$d" ] || continue
    grep -qxF "$d" "$root.cgroups-before" 2>/dev/null && continue
    find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  rm -f "$root.cgroups-before"
  if $keep; then
    echo "fresh-check: the container's tree is kept in $root"
  else
    rm -rf --one-file-system "$root"
  fi
  exit "$rc"
}
trap cleanup EXIT
ls -d /sys/fs/cgroup/*/kubepods* /sys/fs/cgroup/kubepods* /sys/fs/cgroup/*/docker /sys/fs/cgroup/docker \
  2>/dev/null >"$root.cgroups-before" || true

echo "fresh-check: container $root from $base"
tar -C "$root" -xf "$base"
chmod 0755 "$root"  # tar restores "."'s mode: the base was packed from a mktemp dir (0700)
cp /etc/resolv.conf "$root/etc/resolv.conf"
# The container's hostname resolves, as an installed machine's does (sudo looks it up).
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tfresh-check\n' >"$root/etc/hosts"
git clone -q --no-hardlinks "$repo" "$root/root/gatebox"
git -C "$root/root/gatebox" checkout -q "$commit"

steps='run'
$run_test && steps='run test'
# Inside: each command timed, its status kept; both run even if the first fails? No: a
# user would not run the second after the first failed.
cat >"$root/root/fresh-check-inside.sh" <<INSIDE
#!/bin/bash
set -u
cd /root/gatebox
for step in $steps; do
  echo "=== fresh-check: sudo make \$step"
  start=\$(date +%s)
  rc=0
  sudo make "\$step" </dev/null || rc=\$?
  echo "=== fresh-check: sudo make \$step: exit \$rc after \$(( \$(date +%s) - start )) s"
  echo "\$step \$rc \$(( \$(date +%s) - start ))" >>/root/fresh-check.times
  [ "\$rc" = 0 ] || exit "\$rc"
done
INSIDE
chmod +x "$root/root/fresh-check-inside.sh"

# The container: a mount point of its own as root, pivot_root into it (runc and
# containerd inside need a real root mount, not a chroot), fresh /proc, /run, /tmp,
# /dev/shm; the host's /sys and /dev.
modules=/lib/modules/$(uname -r)
rc=0
unshare --mount --pid --fork --kill-child --uts --ipc --propagation private -- /bin/bash -euc '
  root=$1 modules=$2
  hostname fresh-check
  mount --bind "$root" "$root"
  mount -t proc proc "$root/proc"
  mount --rbind /sys "$root/sys"
  mount --rbind /dev "$root/dev"
  mount -t tmpfs -o mode=1777,nosuid,nodev shm "$root/dev/shm"
  mount -t tmpfs -o mode=755,nosuid,nodev run "$root/run"
  mkdir -p "$root/run/lock"
  if [ -d "$modules" ]; then
    mkdir -p "$root$modules"
    mount --bind -o ro "$modules" "$root$modules"
  fi
  cd "$root"
  mkdir -p .old-root
  pivot_root . .old-root
  umount -l /.old-root
  rmdir /.old-root
  exec env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /root/fresh-check-inside.sh
' fresh-check "$root" "$modules" > >(tee "$log") 2>&1 &
ns_pid=$!
wait "$ns_pid" || rc=$?
ns_pid=

echo
echo "=== fresh-check summary (commit $commit, log $log)"
if [ -f "$root/root/fresh-check.times" ]; then
  while read -r step status secs; do
    printf '  sudo make %-4s  exit %-3s  %4d min %02d s\n' "$step" "$status" $((secs / 60)) $((secs % 60))
  done <"$root/root/fresh-check.times"
else
  echo "  no command finished"
fi
exit "$rc"
