#!/usr/bin/env bash
# tests/corpus/build.sh [--print-path] — the real-gate corpus rootfs: a Debian 12 tree made
# from Debian's packages (debootstrap --variant=minbase plus the toolchains below), packed as
# a .tar.gz the way users hand gatebox an image. Built once and cached in
# $GATEBOX_CORPUS_CACHE (default /var/cache/gatebox-corpus), under a name that is a digest
# of this file: changing the recipe builds a new image, and older ones are removed.
#
#   build.sh               build unless cached; print the image's path
#   build.sh --print-path  print the path the image has (or would have), build nothing
#
# Exit 0 with the path on stdout; otherwise the reason on stderr (69: debootstrap or the
# archive cannot be reached here).
set -euo pipefail

# --- the recipe: what the corpus gates need -------------------------------------------------
suite=bookworm
mirror=${GATEBOX_CORPUS_MIRROR:-http://deb.debian.org/debian}
packages=(
  gcc libc6-dev make          # the C gate: a make project, libc and libm
  python3 python3-pytest      # the Python gate: pytest, threads, multiprocessing, subprocess
  golang-go                   # the Go gate: go test, goroutines
  nodejs                      # the Node gate: node --test, worker_threads, child_process
  strace                      # the shell gate: strace -f of a child
)
# What no gate needs and a tree of this size should not carry (≈ a third of its files).
trim=(usr/share/doc usr/share/man usr/share/info usr/share/locale usr/share/lintian
  var/cache/apt var/lib/apt/lists var/log)

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${GATEBOX_CORPUS_CACHE:-/var/cache/gatebox-corpus}
key=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)
image=$cache/debian-$suite-corpus-$key.tar.gz

die() { echo "corpus: $*" >&2; exit "${code:-1}"; }

case ${1:-} in
  --print-path) echo "$image"; exit 0 ;;
  "") ;;
  -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
  *) die "unknown argument '$1' (try --help)" ;;
esac

if [ -f "$image" ]; then echo "$image"; exit 0; fi
[ "$(id -u)" = 0 ] || code=69 die "building the corpus rootfs needs root (debootstrap)"
command -v debootstrap >/dev/null || code=69 die "debootstrap is missing (apt-get install debootstrap)"

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9  # two suites that start together build it once
if [ -f "$image" ]; then echo "$image"; exit 0; fi

tree=$(mktemp -d /var/tmp/gatebox-corpus.XXXXXX)
trap 'rm -rf "$tree" "$image.part"' EXIT
start=$SECONDS
echo "corpus: building the Debian $suite corpus rootfs (once; ${packages[*]})" >&2
include=$(IFS=,; echo "${packages[*]}")
if ! debootstrap --variant=minbase --include="$include" "$suite" "$tree" "$mirror" \
  >"$cache/build.log" 2>&1; then
  tail -n 15 "$cache/build.log" >&2
  code=69 die "debootstrap failed (log $cache/build.log)"
fi
for d in "${trim[@]}"; do rm -rf "${tree:?}/$d"; done
# No /etc/hosts or /etc/hostname of the build machine's: debootstrap leaves none, and the
# stacks provide their own (what a gate sees: README "What a gate sees").
rm -f "$tree/etc/hostname" "$tree/etc/hosts" "$tree/etc/resolv.conf"
chmod 0755 "$tree"
LC_ALL=C tar --create --gzip --file="$image.part" --directory="$tree" \
  --sort=name --numeric-owner --no-acls --no-xattrs --no-selinux .
mv "$image.part" "$image"
# Older recipes' images: a changed recipe replaced them.
find "$cache" -maxdepth 1 -name "debian-*-corpus-*.tar.gz" ! -name "$(basename "$image")" -delete
echo "corpus: built $image ($(du -m "$image" | cut -f1) MB, $(find "$tree" | wc -l) entries) in $((SECONDS - start)) s" >&2
echo "$image"
