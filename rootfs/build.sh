#!/usr/bin/env bash
# Builds the sample rootfs image from Debian's busybox-static, reproducibly: the same
# busybox binary gives the same bytes every time.
#
#   rootfs/build.sh [--out DIR] [--busybox PATH]   write DIR/busybox.tar.zst (+ .sha256)
#   rootfs/build.sh --check                        build twice, fail unless the bytes match
#
# DIR defaults to rootfs/build next to this script.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pack="$here/../scripts/pack-tree.sh"
out_dir="$here/build"
busybox=/bin/busybox
check=0

while [ $# -gt 0 ]; do
  case $1 in
    --out) out_dir=$2; shift 2 ;;
    --busybox) busybox=$2; shift 2 ;;
    --check) check=1; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "rootfs/build.sh: unknown argument '$1' (try --help)" >&2; exit 64 ;;
  esac
done

if [ ! -x "$busybox" ]; then
  echo "rootfs/build.sh: $busybox is missing; install busybox-static (sudo make deps)" >&2
  exit 69
fi
if ! file_type=$(od -An -c -N4 "$busybox" | tr -d ' ') || [ "$file_type" != '177ELF' ]; then
  echo "rootfs/build.sh: $busybox is not an ELF binary" >&2
  exit 65
fi

# Lays out the tree in $1 with every mode set explicitly, so the umask of whoever builds
# it cannot change the image.
make_tree() {
  local root=$1
  local d
  for d in bin sbin usr usr/bin usr/sbin etc proc dev sys root home var tmp var/tmp gatebox; do
    mkdir -p "$root/$d"
    chmod 0755 "$root/$d"
  done
  chmod 0755 "$root"
  chmod 0700 "$root/root"
  # World-writable with the sticky bit: scratch space, and /gatebox is where gates write
  # their verdict file whatever user they run as.
  chmod 1777 "$root/tmp" "$root/var/tmp" "$root/gatebox"

  cp "$busybox" "$root/bin/busybox"
  chmod 0755 "$root/bin/busybox"

  local applet rel up dir
  # --list-full names each applet with its install directory (bin/ls, usr/bin/awk, ...).
  while read -r applet; do
    case $applet in
      */*) ;;
      *) continue ;;  # "linuxrc": an init, not a command
    esac
    [ "$applet" != bin/busybox ] || continue
    [ -e "$root/$applet" ] || [ -L "$root/$applet" ] && continue
    # Relative links keep the tree valid wherever it is unpacked: one ".." per directory
    # level of the applet (usr/bin/awk -> ../../bin/busybox).
    dir=${applet%/*}
    if [ "$dir" = bin ]; then
      rel=busybox
    else
      up=${dir//[^\/]/}
      rel="..${up//\//\/..}/bin/busybox"
    fi
    ln -s "$rel" "$root/$applet"
  done < <("$busybox" --list-full | LC_ALL=C sort -u)

  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
    'nobody:x:65534:65534:nobody:/home:/bin/false' >"$root/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$root/etc/group"
  printf '%s\n' '127.0.0.1 localhost' '::1 localhost' >"$root/etc/hosts"
  chmod 0644 "$root/etc/passwd" "$root/etc/group" "$root/etc/hosts"
}

# Builds the image into directory $1.
build_into() {
  local dest=$1
  local stage
  stage=$(mktemp -d "${TMPDIR:-/tmp}/gatebox-rootfs.XXXXXX")
  # shellcheck disable=SC2064
  trap "rm -rf '$stage'" RETURN
  make_tree "$stage/tree"
  mkdir -p "$dest"
  "$pack" "$stage/tree" "$dest/busybox.tar.zst"
  (cd "$dest" && sha256sum busybox.tar.zst >busybox.tar.zst.sha256)
}

if [ "$check" = 1 ]; then
  work=$(mktemp -d "${TMPDIR:-/tmp}/gatebox-rootfs-check.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  build_into "$work/a"
  build_into "$work/b"
  a=$(cut -d' ' -f1 "$work/a/busybox.tar.zst.sha256")
  b=$(cut -d' ' -f1 "$work/b/busybox.tar.zst.sha256")
  if [ "$a" != "$b" ]; then
    echo "rootfs/build.sh: not reproducible: two builds gave $a and $b" >&2
    exit 1
  fi
  echo "rootfs: reproducible ($a)"
  exit 0
fi

build_into "$out_dir"
echo "rootfs: $out_dir/busybox.tar.zst $(cut -d' ' -f1 "$out_dir/busybox.tar.zst.sha256")"
