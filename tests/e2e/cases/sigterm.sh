#!/usr/bin/env bash
# SIGTERM / SIGINT to gatebox: the sandbox is torn down first, the report says
# "interrupted", and gatebox exits 143 / 130. While the rootfs is still being unpacked, the
# same signals end gatebox and leave no half-written cache entry and no temp dir.
# timeout: 240
. "$(dirname "$0")/../lib.sh"

make_profile long <<EOF2
name = "e2e-sigterm"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/fixtures/sleeper", "$MARKER"]
[limits]
timeout = "120s"
EOF2

# Waits until the gate is running (at most 60 s: a VM boots slowly), then 1 s more.
wait_for_gate() {
  for _ in $(seq 600); do
    grep -q "sleeper: sleeping" "$T/stdout" 2>/dev/null && break
    kill -0 "$GB_PID" 2>/dev/null || fail "gatebox ended before the gate started"
    sleep 0.1
  done
  grep -q "sleeper: sleeping" "$T/stdout" || fail "the gate did not start within 60 s"
  sleep 1
}

for sig in TERM INT; do
  gb_start "$PROFILE"
  wait_for_gate
  kill -s "$sig" "$GB_PID"
  gb_wait 30
  if [ "$sig" = TERM ]; then expect_exit 143; else expect_exit 130; fi
  expect_report interrupted true
  expect_no_leftovers
done

# An image of this case's own (the marker makes its digest unique) that takes seconds to
# unpack: 768 MiB of zeros, a few hundred KiB compressed.
python3 - "$T/slow.tar.gz" "$MARKER" <<'PY'
import io, sys, tarfile
class Zeros(io.RawIOBase):
    def __init__(self, n): self.left = n
    def readable(self): return True
    def readinto(self, b):
        n = min(len(b), self.left)
        b[:n] = bytes(n)
        self.left -= n
        return n
with tarfile.open(sys.argv[1], "w:gz", compresslevel=1) as tar:
    data = sys.argv[2].encode() + b"\n"
    info = tarfile.TarInfo("marker")
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
    for i in range(6):
        info = tarfile.TarInfo("zeros%d" % i)
        info.size = 128 << 20
        tar.addfile(info, io.BufferedReader(Zeros(info.size), 1 << 20))
PY
digest=$(sha256sum <"$T/slow.tar.gz" | cut -d' ' -f1)
make_profile unpack <<EOF2
name = "e2e-sigterm-unpack"
[rootfs]
image = "$T/slow.tar.gz"
[run]
argv = ["/fixtures/sleeper", "$MARKER"]
[limits]
timeout = "120s"
EOF2
for sig in TERM INT; do
  gb_start "$PROFILE"
  # The unpack's work dir is tmp/extract-<gatebox's pid>-XXXXXX in the cache.
  started=no
  for _ in $(seq 1200); do
    if compgen -G "$GB_CACHE/tmp/extract-$GB_PID-*" >/dev/null; then started=yes; break; fi
    kill -0 "$GB_PID" 2>/dev/null || break
    sleep 0.05
  done
  [ "$started" = yes ] || { gb_wait 30; fail "SIG$sig: the unpack was never seen under way"; }
  kill -s "$sig" "$GB_PID"
  gb_wait 30
  if [ "$sig" = TERM ]; then expect_exit 143; else expect_exit 130; fi
  expect_report interrupted true
  [ ! -e "$GB_CACHE/rootfs/$digest" ] || fail "SIG$sig during the unpack left a cache entry rootfs/$digest"
  [ ! -e "$GB_CACHE/rootfs/$digest.meta" ] || fail "SIG$sig during the unpack left rootfs/$digest.meta"
  expect_stdout_lacks "sleeper: sleeping"
  expect_no_leftovers
done
pass
