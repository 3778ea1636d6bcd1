#!/usr/bin/env bash
# make-test-image.sh BUSYBOX_IMAGE OUT PROGRAM... — the e2e test image: the busybox rootfs
# plus each PROGRAM under /fixtures. Does nothing when OUT is newer than every input; when
# the busybox image is missing it removes OUT and says so (the e2e cases then skip).
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: make-test-image.sh BUSYBOX_IMAGE OUT PROGRAM..." >&2; exit 64; }
base=$1
out=$2
shift 2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ ! -f "$base" ]; then
  rm -f "$out"
  echo "make-test-image: $base is missing (run 'make rootfs'); e2e cases will skip" >&2
  exit 0
fi

if [ -f "$out" ]; then
  stale=0
  for input in "$base" "$@" "$here/pack-tree.sh" "${BASH_SOURCE[0]}"; do
    [ "$input" -nt "$out" ] && stale=1
  done
  [ "$stale" = 1 ] || exit 0
fi

stage=$(mktemp -d "${TMPDIR:-/tmp}/gatebox-test-image.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/tree"
# -p keeps the image's modes (1777 /tmp) whoever builds it; ownership is reset when packing.
zstd -dc "$base" | tar -x -p --no-same-owner -C "$stage/tree" -f -
mkdir -m 0755 "$stage/tree/fixtures"
for prog in "$@"; do
  install -m 0755 "$prog" "$stage/tree/fixtures/$(basename "$prog")"
done
mkdir -p "$(dirname "$out")"
"$here/pack-tree.sh" "$stage/tree" "$out"
