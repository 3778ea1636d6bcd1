#!/usr/bin/env bash
# Hostile rootfs images: entries that aim outside the tree are refused (exit 65) and write
# nothing on the host; device nodes are skipped and setuid bits cleared; a decompression
# bomb stops at rootfs.max_bytes within seconds; a zip or a truncated archive is refused.
# timeout: 400
. "$(dirname "$0")/../lib.sh"

mkdir "$T/images" "$T/outside"
echo host-secret >"$T/outside/secret.txt"
zstd -dc "$IMAGE" >"$T/base.tar"
python3 "$E2E_DIR/hostile_archives.py" "$T/base.tar" "$T/images" "$T/outside"

# Nothing but secret.txt, unchanged, in the directory every entry aims at.
expect_outside_untouched() {
  local list
  list=$(ls -A "$T/outside")
  [ "$list" = secret.txt ] || fail "$1: files appeared outside the tree: $list"
  [ "$(cat "$T/outside/secret.txt")" = host-secret ] || fail "$1: the host file outside the tree changed"
}

# run_image FILE [ARGV...]: the image as the rootfs of a small gate (MAX_BYTES and
# MAX_ENTRIES, if set, replace its unpacking limits).
run_image() {
  local image=$1
  shift
  make_profile "$(basename "$image")" <<EOF2
name = "e2e-hostile"
[rootfs]
image = "$T/images/$image"
max_bytes = "${MAX_BYTES:-64MiB}"
max_entries = ${MAX_ENTRIES:-1000}
[run]
argv = ["/bin/sh", "-c", "echo ran-$MARKER"]
[limits]
timeout = "60s"
EOF2
  gb_run "$PROFILE" "$@"
}

for image in dotdot.tar absolute.tar symlink-write.tar dir-swap.tar hardlink-outside.tar hardlink-dotdot.tar; do
  run_image "$image"
  expect_exit 65
  expect_stdout_lacks "ran-$MARKER"
  expect_outside_untouched "$image"
done

# A duplicate path: refused, or the later entry wins as with tar.
run_image duplicate.tar -- /bin/cat /dup.txt
case $GB_EXIT in
  65) ;;
  0) expect_stdout_has second ;;
  *) fail "duplicate.tar: expected exit 65 or 0" ;;
esac

run_image device.tar -- /bin/sh -c '[ -c /evil-null ] && echo IS-A-DEVICE; echo checked'
expect_exit 0
expect_stdout_has checked
expect_stdout_lacks IS-A-DEVICE

run_image setuid.tar -- /bin/ls -l /suid-prog /sgid-prog
expect_exit 0
expect_stdout_has suid-prog
expect_stdout_has sgid-prog
modes=$(awk '{print $1}' "$T/stdout")
case $modes in
  *[sStT]*) fail "setuid/setgid bits survived extraction: $modes" ;;
esac

run_image bomb.tar.gz
expect_exit 65
# Refused because of the byte budget, not for some other reason.
expect_stderr_has "exceeds rootfs.max_bytes"
# Stopped by the byte budget, not by unpacking it all (a bound against hangs only).
expect_faster_than 60

# A hard link to a later entry: refused, or harmless inside the tree.
run_image hardlink-later.tar
case $GB_EXIT in 65 | 0) ;; *) fail "hardlink-later.tar: expected exit 65 or 0" ;; esac
expect_outside_untouched hardlink-later.tar

# A file capability in the image must not reach the cached tree (or any gate).
run_image filecap.tar -- /bin/sh -c 'echo ran-$0' "$MARKER"
expect_exit 0
python3 - "$GATEBOX_CACHE" <<'PY' || fail "a file capability from the image reached the cache"
import os, sys
for root, dirs, files in os.walk(os.path.join(sys.argv[1], "rootfs")):
    for name in files:
        path = os.path.join(root, name)
        if os.path.islink(path):
            continue
        try:
            os.getxattr(path, "security.capability", follow_symlinks=False)
        except OSError:
            continue
        print("capability on", path)
        sys.exit(1)
PY

# Entries without file data count against rootfs.max_bytes too (a 4 KiB block each):
# 6,000 directories and symlinks once unpacked to 26 MiB under a 2 MiB limit.
python3 - "$T/images/no-data.tar.gz" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1], "w:gz") as tar:
    for i in range(3000):
        d = tarfile.TarInfo("d%d" % i)
        d.type = tarfile.DIRTYPE
        d.mode = 0o755
        tar.addfile(d)
        l = tarfile.TarInfo("l%d" % i)
        l.type = tarfile.SYMTYPE
        l.linkname = "d%d" % i
        tar.addfile(l)
PY
MAX_BYTES=2MiB MAX_ENTRIES=100000 run_image no-data.tar.gz
expect_exit 65
expect_stderr_has "exceeds rootfs.max_bytes (2MiB)"
expect_stdout_lacks "ran-$MARKER"

# More entries than rootfs.max_entries: refused at once.
run_image many.tar
expect_exit 65
expect_stderr_has "entries"

# A path 10,000 directories deep: refused, or unpacked without harm (and removed again).
run_image deep.tar
case $GB_EXIT in 65 | 0) ;; *) fail "deep.tar: expected exit 65 or 0" ;; esac

# An image that is not a regular file is refused before it is opened: a FIFO once hung
# gatebox for good (an open() waiting for a writer, with SIGINT and SIGTERM blocked).
mkfifo "$T/images/fifo.tar"
ln -s /dev/zero "$T/images/device.tar.gz"
mkdir "$T/images/dir.tar"
for image in fifo.tar device.tar.gz dir.tar; do
  GB_LIMIT=30 run_image "$image"
  expect_exit 65
  expect_stdout_lacks "ran-$MARKER"
  expect_stderr_has "rootfs.image $T/images/$image"
  case $image in
    fifo.tar) expect_stderr_has "a FIFO (named pipe)" ;;
    device.tar.gz) expect_stderr_has "a character device" ;;
    dir.tar) expect_stderr_has "a directory" ;;
  esac
  expect_faster_than 20
done

for image in zip.tar truncated.tar.gz iso.tar rar.tar; do
  run_image "$image"
  expect_exit 65
  expect_stdout_lacks "ran-$MARKER"
done
expect_outside_untouched "all images"
expect_no_leftovers
pass
