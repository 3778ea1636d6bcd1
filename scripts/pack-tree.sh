#!/usr/bin/env bash
# pack-tree.sh DIR OUT.tar.zst — packs DIR into a zstd-compressed tar whose bytes depend only
# on the tree's names, contents, modes and link targets: no timestamps, owners, host user
# names, or directory read order. Modes are taken as they are on disk, so the caller sets them.
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: pack-tree.sh DIR OUT.tar.zst" >&2; exit 64; }
src=$1
out=$2
[ -d "$src" ] || { echo "pack-tree.sh: $src is not a directory" >&2; exit 66; }

tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# Everything is owned by root inside the image; the GNU format keeps no atime/ctime, and
# --mtime=@0 pins the one timestamp it keeps. LC_ALL=C makes --sort=name byte order.
LC_ALL=C tar --create --file=- --directory="$src" \
  --sort=name --format=gnu --mtime=@0 \
  --owner=0 --group=0 --numeric-owner \
  --no-acls --no-xattrs --no-selinux \
  . | zstd -19 -T1 -q --no-progress -o "$tmp"
mv -f "$tmp" "$out"
trap - EXIT
