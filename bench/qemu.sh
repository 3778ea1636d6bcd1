#!/usr/bin/env bash
# bench/qemu.sh — boot-to-verdict of gatebox's qemu stack next to a hand-written minimal
# qemu command, in one hyperfine session:
#   gatebox   gatebox run bench/true.toml --stack qemu (agent, job, seccomp, cgroup limits
#             in the guest, the busybox rootfs in the initramfs, frames on the console)
#   qemu      the same qemu flags and the same ELF vmlinux (gatebox's cached extraction),
#             with a one-file initramfs whose /init writes one line and calls
#             reboot(RB_POWER_OFF): what booting this kernel costs at the least
# and the ratio of the medians. Target: gatebox within 1.2x of qemu.
# Environment: GATEBOX (default build/gatebox), RUNS (10), WARMUP (1), ACCEL (auto: kvm if
# /dev/kvm is usable, else tcg), OUT (a JSON file to keep).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
gatebox=${GATEBOX:-$repo/build/gatebox}
image=$repo/rootfs/build/busybox.tar.zst
runs=${RUNS:-10}
warmup=${WARMUP:-1}
qemu=qemu-system-x86_64

for tool in hyperfine "$qemu" python3 cc; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (sudo make deps)" >&2; exit 69; }
done
[ -x "$gatebox" ] || { echo "bench: $gatebox is missing (make build)" >&2; exit 69; }
[ -f "$image" ] || { echo "bench: $image is missing (make rootfs)" >&2; exit 69; }

accel=${ACCEL:-auto}
if [ "$accel" = auto ]; then
  if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then accel=kvm; else accel=tcg; fi
fi
cpu=max
[ "$accel" = kvm ] && cpu=host

work=$(mktemp -d "${TMPDIR:-/tmp}/gatebox-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cache=$work/cache
hf_accel="--set=stack.qemu.accel='\"$accel\"'"

if ! "$gatebox" run "$repo/bench/true.toml" --stack qemu "--set=stack.qemu.accel=\"$accel\"" --cache-dir "$cache" -q >/dev/null; then
  echo "bench: the gate does not pass on the qemu stack; nothing to measure" >&2
  exit 1
fi
vmlinux=$(ls "$cache"/vm/vmlinux-* 2>/dev/null | head -n 1)
[ -n "$vmlinux" ] || { echo "bench: no cached vmlinux under $cache/vm" >&2; exit 1; }

# The one-line init, static, in a newc cpio of one file.
cat >"$work/init.c" <<'C'
#include <sys/reboot.h>
#include <unistd.h>
int main(void) {
  static const char line[] = "init: hello\n";
  write(1, line, sizeof line - 1);
  reboot(RB_POWER_OFF);
  return 0;
}
C
cc -static -O2 -o "$work/init" "$work/init.c"
python3 - "$work/init" "$work/init.cpio" <<'PY'
import os, sys
data = open(sys.argv[1], "rb").read()
def entry(name, mode, body, ino):
    name_b = name.encode() + b"\0"
    hdr = "070701" + "".join("%08X" % v for v in (ino, mode, 0, 0, 1, 0, len(body), 0, 0, 0, 0, len(name_b), 0))
    out = hdr.encode() + name_b
    out += b"\0" * (-len(out) % 4) + body
    return out + b"\0" * (-len(out) % 4)
blob = entry("init", 0o100755, data, 1) + entry("TRAILER!!!", 0, b"", 0)
open(sys.argv[2], "wb").write(blob)
PY

# The same machine and kernel command line as the qemu stack (src/stack/qemu/qemu_command.cpp,
# src/stack/vm/vm_host.cpp); -m as gatebox sizes it for limits.memory = 1 GiB.
tsc_khz=$(awk -F: '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)
[ -r /sys/devices/system/cpu/cpu0/tsc_freq_khz ] && tsc_khz=$(cat /sys/devices/system/cpu/cpu0/tsc_freq_khz)
append="console=ttyS0 quiet loglevel=4 panic=-1 reboot=t rdinit=/init random.trust_cpu=on i8042.noaux tsc_early_khz=$tsc_khz"
qemu_cmd=("$qemu" -M microvm,isa-serial=on,pit=on,pic=on,rtc=on,acpi=on -accel "$accel" -cpu "$cpu" -m 1158M -smp 1
  -nodefaults -no-user-config -display none -monitor none -serial stdio -no-reboot
  -kernel "$vmlinux" -initrd "$work/init.cpio" -append "$append")
"${qemu_cmd[@]}" </dev/null | grep -q "init: hello" || { echo "bench: the hand-written qemu command does not boot" >&2; exit 1; }
# hyperfine -N splits like a shell: the command line goes through a small script.
printf '#!/bin/sh\nexec' >"$work/qemu-min.sh"
printf ' %q' "${qemu_cmd[@]}" >>"$work/qemu-min.sh"
printf ' </dev/null\n' >>"$work/qemu-min.sh"
chmod +x "$work/qemu-min.sh"

hyperfine -N --style basic --warmup "$warmup" --runs "$runs" --export-json "$work/bench.json" \
  -n gatebox "$gatebox run $repo/bench/true.toml --stack qemu $hf_accel --cache-dir $cache -q --log-format plain" \
  -n qemu "$work/qemu-min.sh"

[ -z "${OUT:-}" ] || cp "$work/bench.json" "$OUT"
python3 - "$work/bench.json" "$accel" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
median = {name: results[name]["median"] * 1000 for name in ("gatebox", "qemu")}
print()
print("accel: %s" % sys.argv[2])
for name, ms in median.items():
    print("median %-8s %8.1f ms" % (name, ms))
print("gatebox/qemu  %6.2fx  (target: within 1.20x)" % (median["gatebox"] / median["qemu"]))
PY
