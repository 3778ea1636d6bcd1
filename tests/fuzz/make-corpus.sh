#!/usr/bin/env bash
# make-corpus.sh OUT — writes the seed corpora of the fuzz targets into OUT/<target>/:
#   profile  the sample profiles of configs/ and the hand-written ones of corpus/profile/
#   archive  small tar images: the ordinary entry kinds, each compression gatebox reads,
#            and the attacks the extractor must refuse (.., absolute names, symlink then
#            write, hardlinks out of the tree, devices, set-id bits, duplicates)
#   frames   programs for frames_fuzz (see the format at the top of frames_fuzz.cpp)
# Binary seeds are generated rather than committed, so the repository stays small.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:?usage: make-corpus.sh OUT}
mkdir -p "$out/profile" "$out/archive" "$out/frames"

cp "$here"/../../configs/*.toml "$out/profile/"
cp "$here"/corpus/profile/* "$out/profile/"

python3 - "$out" <<'EOF'
import bz2, gzip, io, lzma, struct, sys, tarfile

out = sys.argv[1]

def entry(name, kind=tarfile.REGTYPE, data=b"", **kw):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    info.mode = kw.pop("mode", 0o755 if kind == tarfile.DIRTYPE else 0o644)
    info.mtime = 1700000000
    for k, v in kw.items():
        setattr(info, k, v)
    return info, (data if kind == tarfile.REGTYPE else None)

def tar(entries, fmt=tarfile.GNU_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for info, data in entries:
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    raw = buf.getvalue()
    # tarfile pads to a 10 KiB record; two zero blocks are all an archive needs to end.
    end = len(raw.rstrip(b"\0"))
    return raw[: (end + 511) // 512 * 512 + 1024]

def write(name, data):
    with open(f"{out}/archive/{name}", "wb") as f:
        f.write(data)

basic = [
    entry("./", tarfile.DIRTYPE),
    entry("bin/", tarfile.DIRTYPE),
    entry("bin/sh", data=b"#!/bin/true\n", mode=0o755),
    entry("bin/ln", tarfile.SYMTYPE, linkname="sh"),
    entry("bin/hard", tarfile.LNKTYPE, linkname="bin/sh"),
    entry("etc/passwd", data=b"root:x:0:0::/:/bin/sh\n", uid=0, gid=0),
]
plain = tar(basic)
write("basic.tar", plain)
write("basic-pax.tar", tar(basic + [entry("d/" + "n" * 120 + "/\u00e9t\u00e9", data=b"x")], tarfile.PAX_FORMAT))
write("basic.tar.gz", gzip.compress(plain, mtime=0))
write("basic.tar.xz", lzma.compress(plain))
write("basic.tar.bz2", bz2.compress(plain))

write("dotdot.tar", tar([entry("../outside/new", data=b"x")]))
write("absolute.tar", tar([entry("/tmp/gatebox-fuzz-absolute", data=b"x")]))
write("symlink-then-write.tar", tar([entry("l", tarfile.SYMTYPE, linkname="../outside"),
                                     entry("l/file", data=b"overwritten")]))
write("dir-then-symlink.tar", tar([entry("d/", tarfile.DIRTYPE),
                                   entry("d", tarfile.SYMTYPE, linkname="../outside"),
                                   entry("d/file", data=b"overwritten")]))
write("hardlink-outside.tar", tar([entry("h", tarfile.LNKTYPE, linkname="../outside/file"),
                                   entry("h", data=b"overwritten")]))
write("hardlink-forward.tar", tar([entry("h", tarfile.LNKTYPE, linkname="later"), entry("later", data=b"x")]))
write("duplicate.tar", tar([entry("f", data=b"one"), entry("f", data=b"two")]))
write("specials.tar", tar([entry("dev/null", tarfile.CHRTYPE, devmajor=1, devminor=3),
                           entry("dev/sda", tarfile.BLKTYPE, devmajor=8, devminor=0),
                           entry("fifo", tarfile.FIFOTYPE),
                           entry("su", data=b"x", mode=0o6755),
                           entry("sgid/", tarfile.DIRTYPE, mode=0o2775)]))
# 1.2 MB of zeros over the fuzzer's 1 MiB max_bytes, as a 1 KB gzip bomb in miniature.
write("too-big.tar.gz", gzip.compress(tar([entry("big", data=b"\0" * 600000), entry("big2", data=b"\0" * 600000)]), mtime=0))

# frames_fuzz programs: byte 0 = chunking, then records (0x80|type: a frame; payload
# length as 2 bytes little-endian; 0x40 in a frame op: damaged).
def frame(ftype, payload=b"", seqmode=0, damage=None):
    op = 0x80 | ftype | (seqmode << 3) | (0x40 if damage else 0)
    rec = bytes([op]) + struct.pack("<H", len(payload)) + payload
    if damage:
        how, at = damage
        rec += bytes([how]) + struct.pack("<H", at)
    return rec

def raw(data):
    return bytes([len(data) - 1]) + data

run = (frame(1, b"gatebox-init 0.1.0") + frame(2) + frame(3, b"hello\n") + frame(4, b"warning\n")
       + frame(5, b'{"verdict":"pass"}') + frame(6, b'{"exit_code":0,"signal":0}'))
programs = {
    "run": b"\0" + run,
    "run-chunked": bytes([3, 0, 6, 200]) + run,
    "noise": bytes([1, 16]) + raw(b"[    0.000000] Linux version\n") + frame(1, b"v")
             + bytes([0x40 | 8]) + b"\x03\0\0\0\0\x10\0\0" + raw(b"Kernel panic - not syncing\n") + frame(2),
    "damaged": b"\0" + frame(1, b"v") + frame(3, b"lost", damage=(1, 30)) + frame(3, b"flipped", damage=(0, 25))
               + frame(3, b"kept"),
    "gap": b"\0" + frame(1, b"v") + frame(3, b"ahead", seqmode=2) + frame(6, b"{}"),
    "unknown-type": b"\0" + frame(0, b"type zero") + frame(7, b"failure"),
    "max-payload": bytes([2, 255, 0]) + frame(3, bytes(range(256)) * 16) + frame(6, b"{}"),
}
for name, data in programs.items():
    with open(f"{out}/frames/{name}", "wb") as f:
        f.write(data)
EOF

# zstd is the compression of the sample rootfs: one seed through that decoder as well.
if command -v zstd >/dev/null; then
  zstd -q -f -o "$out/archive/basic.tar.zst" "$out/archive/basic.tar"
fi
echo "corpus: $(find "$out" -type f | wc -l) seeds in $out"
