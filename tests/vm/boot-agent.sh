#!/bin/bash
# Boots the guest agent under QEMU by hand, without the qemu stack: busybox rootfs + agent +
# a job JSON in one uncompressed cpio, the host's Debian kernel as an ELF vmlinux (PVH),
# the serial console captured to a file and decoded by decode-frames.py.
#
# usage: tests/vm/boot-agent.sh AGENT JOB_JSON CAPTURE [EXTRA_DIR]
#   AGENT      the static gatebox-init (build/gatebox-init)
#   JOB_JSON   the job (see src/stack/vm/job.hpp); its "secret" decodes the capture
#   CAPTURE    where the console goes
#   EXTRA_DIR  optional tree copied over the rootfs (e.g. test scripts)
# Environment: GATEBOX_KERNEL (a bzImage, default /boot/vmlinuz-$(uname -r) or the newest
# /boot/vmlinuz-*), GATEBOX_BUSYBOX (the rootfs tarball), GATEBOX_VM_CACHE (where vmlinux
# is kept, default /tmp/gatebox-vm-cache), QEMU_MEM (MiB, default 256).
set -euo pipefail
agent=$1 job=$2 capture=$3 extra=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
busybox=${GATEBOX_BUSYBOX:-$here/../../rootfs/build/busybox.tar.zst}
cache=${GATEBOX_VM_CACHE:-/tmp/gatebox-vm-cache}
kernel=${GATEBOX_KERNEL:-/boot/vmlinuz-$(uname -r)}
[ -e "$kernel" ] || kernel=$(ls /boot/vmlinuz-* | sort -V | tail -1)
mkdir -p "$cache"

# Debian's bzImage carries an XZ payload; under TCG its decompression costs ~3 s per boot,
# so boot the ELF vmlinux inside it directly (PVH entry).
vmlinux=$cache/vmlinux-$(basename "$kernel")
if [ ! -s "$vmlinux" ]; then
  python3 - "$kernel" "$vmlinux" <<'PY'
import lzma, sys
data = open(sys.argv[1], "rb").read()
at = data.find(b"\xfd7zXZ\x00")
if at < 0:
    sys.exit("no XZ payload in " + sys.argv[1])
out = lzma.LZMADecompressor().decompress(data[at:])
if out[:4] != b"\x7fELF":
    sys.exit("the payload is not an ELF vmlinux")
open(sys.argv[2], "wb").write(out)
PY
fi

work=$(mktemp -d /tmp/gatebox-boot.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/root"
tar --zstd -xf "$busybox" -C "$work/root"
mkdir -p "$work/root/.gatebox"
install -m 0700 "$agent" "$work/root/.gatebox/init"
install -m 0600 "$job" "$work/root/.gatebox/job.json"
[ -n "$extra" ] && cp -a "$extra/." "$work/root/"
(cd "$work/root" && find . | cpio -o -H newc --quiet) >"$work/initrd.cpio"

tsc_khz=$(awk -F: '/^cpu MHz/ {printf "%d", $2 * 1000; exit}' /proc/cpuinfo)
start=$(date +%s%N)
timeout 120 qemu-system-x86_64 \
  -M microvm,isa-serial=on,pit=on,pic=on,rtc=on -accel tcg -cpu max -m "${QEMU_MEM:-256}" -smp 1 \
  -nodefaults -no-user-config -display none -serial stdio -monitor none -no-reboot \
  -kernel "$vmlinux" -initrd "$work/initrd.cpio" \
  -append "console=ttyS0 quiet loglevel=4 panic=-1 reboot=t rdinit=/.gatebox/init random.trust_cpu=on i8042.noaux tsc_early_khz=$tsc_khz" \
  </dev/null >"$capture"
end=$(date +%s%N)
echo "qemu exited after $(( (end - start) / 1000000 )) ms" >&2
