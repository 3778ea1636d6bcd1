#!/usr/bin/env python3
"""hostile_layouts.py BASE_TAR OUTDIR OUTSIDE_DIR — writes the rootfs images the
hostile-layouts case feeds to gatebox: BASE_TAR (a working busybox tree, "./"-prefixed
names) with a directory that sandbox set-up mounts on (/proc, /dev, /dev/null, or /data, the
case's mount target) replaced by a symlink that points at OUTSIDE_DIR on the host (absolute,
or relative through enough '..' to climb out of any extraction directory) or at nothing, or
by a regular file (data-file, data-parent-file)."""
import io
import os
import sys
import tarfile

base, outdir, outside = sys.argv[1:4]
UP = "../" * 32


def symlink(name, target):
    info = tarfile.TarInfo("./" + name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info


def regular(name, content):
    info = tarfile.TarInfo("./" + name)
    info.type = tarfile.REGTYPE
    info.mode = 0o644
    info.size = len(content)
    return info, content


def directory(name):
    info = tarfile.TarInfo("./" + name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    return info


def layout(image, drop, links):
    """A copy of base without the entries at or under the names in `drop`, plus `links`."""
    def dropped(name):
        name = name[2:] if name.startswith("./") else name
        name = name.rstrip("/")
        return any(name == d or name.startswith(d + "/") for d in drop)

    with tarfile.open(base) as src, tarfile.open(os.path.join(outdir, image), "w", format=tarfile.GNU_FORMAT) as dst:
        for member in src:
            if dropped(member.name):
                continue
            dst.addfile(member, src.extractfile(member) if member.isreg() else None)
        for entry in links:
            if isinstance(entry, tuple):
                info, content = entry
                dst.addfile(info, io.BytesIO(content))
            else:
                dst.addfile(entry)


outside_rel = UP + outside.lstrip("/")
layout("proc-link.tar", ["proc"], [symlink("proc", outside)])
layout("proc-dangling.tar", ["proc"], [symlink("proc", "/no/such/proc")])
layout("dev-link.tar", ["dev"], [symlink("dev", outside)])
layout("dev-dotdot.tar", ["dev"], [symlink("dev", outside_rel)])
layout("devnull-link.tar", [], [symlink("dev/null", outside + "/secret.txt")])
layout("data-link.tar", [], [symlink("data", outside)])
layout("data-dotdot.tar", [], [symlink("data", outside_rel)])
layout("data-dangling.tar", [], [symlink("data", "/no/such/data")])
layout("data-parent-link.tar", [], [symlink("parent", outside)])
layout("data-file.tar", [], [regular("data", b"a file where the mount target is\n")])
layout("data-parent-file.tar", [], [regular("parent", b"a file above the mount target\n")])
