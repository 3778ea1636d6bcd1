#!/usr/bin/env python3
"""hostile_archives.py BASE_TAR OUTDIR OUTSIDE_DIR — writes the hostile rootfs images the
hostile-archives case feeds to gatebox. Each image other than the bombs and broken ones is
BASE_TAR (a working busybox tree) with hostile entries appended, so that an extractor that
lets an entry through still gives a runnable tree. OUTSIDE_DIR is the host directory the
entries aim at; nothing may ever appear there."""
import gzip
import io
import os
import shutil
import sys
import tarfile
import zipfile

base, outdir, outside = sys.argv[1:4]
# From the extraction directory, enough ".." to reach / wherever the cache is.
UP = "../" * 32


def file_entry(name, data=b"pwned\n", mode=0o644):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    return info, io.BytesIO(data)


def link_entry(name, target, kind):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


def dir_entry(name):
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    return info, None


def with_entries(name, entries):
    path = os.path.join(outdir, name)
    shutil.copyfile(base, path)
    # GNU format keeps names exactly as given (no pax path rewriting), like a hand-made attack.
    with tarfile.open(path, "a", format=tarfile.GNU_FORMAT) as tar:
        for info, data in entries:
            tar.addfile(info, data)


with_entries("dotdot.tar", [file_entry(UP + outside.lstrip("/") + "/dotdot-escape")])
with_entries("absolute.tar", [file_entry(outside + "/absolute-escape")])
with_entries("symlink-write.tar", [
    link_entry("linkout", outside, tarfile.SYMTYPE),
    file_entry("linkout/symlink-escape"),
])
with_entries("dir-swap.tar", [
    dir_entry("swapped"),
    link_entry("swapped", outside, tarfile.SYMTYPE),
    file_entry("swapped/dirswap-escape"),
])
with_entries("hardlink-outside.tar", [link_entry("hardout", outside + "/secret.txt", tarfile.LNKTYPE)])
with_entries("hardlink-dotdot.tar", [link_entry("hardout", UP + outside.lstrip("/") + "/secret.txt", tarfile.LNKTYPE)])
with_entries("duplicate.tar", [file_entry("dup.txt", b"first\n"), file_entry("dup.txt", b"second\n")])

device = tarfile.TarInfo("evil-null")
device.type = tarfile.CHRTYPE
device.devmajor, device.devminor = 1, 3
device.mode = 0o666
with_entries("device.tar", [(device, None)])

script = b"#!/bin/sh\necho hi\n"
with_entries("setuid.tar", [file_entry("suid-prog", script, 0o4755), file_entry("sgid-prog", script, 0o2755)])


class Zeros(io.RawIOBase):
    def readable(self):
        return True

    def readinto(self, buf):
        buf[:] = bytes(len(buf))
        return len(buf)


# 256 MiB of zeros in a few hundred KiB: four times the max_bytes the case sets.
with tarfile.open(os.path.join(outdir, "bomb.tar.gz"), "w:gz", compresslevel=1) as tar:
    info = tarfile.TarInfo("zeros")
    info.size = 256 << 20
    tar.addfile(info, io.BufferedReader(Zeros()))

with zipfile.ZipFile(os.path.join(outdir, "zip.tar"), "w") as z:
    z.writestr("bin/sh", script)

with open(base, "rb") as f:
    packed = gzip.compress(f.read(), compresslevel=1)
with open(os.path.join(outdir, "truncated.tar.gz"), "wb") as f:
    f.write(packed[: len(packed) // 2])

# A hard link to an entry that comes later (a link to nothing yet), and a file carrying a
# file capability (security.capability in a pax header: cap_sys_admin, effective).
with_entries("hardlink-later.tar", [link_entry("early", "later.txt", tarfile.LNKTYPE), file_entry("later.txt")])
cap = file_entry("cap-prog", script, 0o755)
cap[0].pax_headers = {"SCHILY.xattr.security.capability":
                      "\x01\x00\x00\x02\x00\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"}
with tarfile.open(os.path.join(outdir, "filecap.tar"), "w", format=tarfile.PAX_FORMAT) as tar:
    tar.addfile(cap[0], cap[1])
    with tarfile.open(base) as src:
        for m in src.getmembers():
            tar.addfile(m, src.extractfile(m) if m.isfile() else None)

# Many entries (the case sets max_entries = 1000; "millions" scaled to what the limit
# guards) and one path 10,000 directories deep.
with tarfile.open(os.path.join(outdir, "many.tar"), "w") as tar:
    for i in range(5000):
        info = tarfile.TarInfo(f"f{i}")
        tar.addfile(info, io.BytesIO(b""))
with tarfile.open(os.path.join(outdir, "deep.tar"), "w", format=tarfile.PAX_FORMAT) as tar:
    info = tarfile.TarInfo("/".join(["d"] * 10000) + "/f")
    tar.addfile(info, io.BytesIO(b""))

# An ISO 9660 image and a RAR archive, renamed .tar: only tar is accepted.
iso = bytearray(64 * 1024)
iso[0x8000:0x8006] = b"\x01CD001"
with open(os.path.join(outdir, "iso.tar"), "wb") as f:
    f.write(bytes(iso))
with open(os.path.join(outdir, "rar.tar"), "wb") as f:
    f.write(b"Rar!\x1a\x07\x01\x00" + bytes(4096))
