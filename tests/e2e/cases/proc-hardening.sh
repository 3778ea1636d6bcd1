#!/usr/bin/env bash
# The /proc entries that act on the kernel are read-only mounts inside the sandbox, and the
# ones that reveal the host are masked, wherever this kernel has them: the gate reads its
# own /proc/self/mountinfo and reports each entry as "ro", "rw", "masked", "unmasked" or
# "absent". /proc/sysrq-trigger (a file among directories) was once planned as a directory
# on the native stack, failed to resolve and was skipped in silence, left writable.
# gatebox makes these mounts itself on native and in the guest agent (qemu, firecracker;
# the agent masks nothing: the guest kernel is the VM's own); Docker does on docker.
# gVisor's /proc is the sentry's emulation (no sysrq-trigger, no host kernel behind it), and
# the kubernetes stack's pods never run as uid 0: their runtime's defaults are not ours.
. "$(dirname "$0")/../lib.sh"
only_on native docker qemu firecracker

# Docker's defaults for long (kcore, keys, timer_list, sched_debug); gatebox's own list on native.
masked='/proc/kcore /proc/keys /proc/timer_list /proc/sched_debug'
[ "$GATEBOX_STACK" != native ] || masked="$masked /proc/acpi /proc/scsi /proc/kallsyms /proc/kpagecount /proc/kpageflags"
case $GATEBOX_STACK in qemu | firecracker) masked='' ;; esac

make_profile proc <<EOF2
name = "e2e-proc-hardening"
[rootfs]
image = "$IMAGE"
[run]
user = "0:0"
argv = ["/bin/sh", "-c", '''
top_options() { awk -v p="\$1" '\$5 == p { o = \$6 } END { print o }' /proc/self/mountinfo; }
for p in /proc/sys /proc/sysrq-trigger /proc/irq /proc/bus /proc/fs; do
  if [ ! -e "\$p" ]; then echo "readonly \$p absent"; continue; fi
  case ",\$(top_options "\$p")," in *,ro,*) echo "readonly \$p ro" ;; *) echo "readonly \$p rw" ;; esac
done
for p in $masked; do
  if [ ! -e "\$p" ]; then echo "mask \$p absent"
  elif [ -n "\$(top_options "\$p")" ]; then echo "mask \$p masked"
  else echo "mask \$p unmasked"; fi
done
/fixtures/hostile sysrq
echo done-$MARKER
''']
[limits]
timeout = "60s"
EOF2

gb_run "$PROFILE"
expect_exit 0
expect_stdout_has "done-$MARKER"
# /proc/sys exists on every kernel: the check itself must have seen a read-only mount.
expect_stdout_has "readonly /proc/sys ro"
for p in /proc/sys /proc/sysrq-trigger /proc/irq /proc/bus /proc/fs; do
  grep -qE "^readonly $p (ro|absent)\$" "$T/stdout" || fail "$p is not a read-only mount in the sandbox"
done
for p in $masked; do
  grep -qE "^mask $p (masked|absent)\$" "$T/stdout" || fail "$p is not masked in the sandbox"
done
# Where this kernel has sysrq-trigger, uid 0 in the sandbox cannot write to it.
! grep -qE '^sysrq write ok' "$T/stdout" || fail "the gate wrote to /proc/sysrq-trigger"
grep -qE '^sysrq write denied' "$T/stdout" || fail "the gate printed no result for the sysrq write"
expect_no_leftovers

# In a VM the guest kernel is the gate's own: the agent locks module and kernel loading
# for the rest of the boot (one-way switches), whatever a root gate could otherwise do.
case $GATEBOX_STACK in
  qemu | firecracker)
    gb_run "$PROFILE" -- /bin/sh -c 'for k in modules_disabled kexec_load_disabled; do echo "$k=$(cat /proc/sys/kernel/$k 2>/dev/null || echo absent)"; done'
    expect_exit 0
    for k in modules_disabled kexec_load_disabled; do
      grep -qE "^$k=(1|absent)\$" "$T/stdout" || fail "the guest left kernel.$k unset: $(grep "^$k=" "$T/stdout")"
    done
    expect_no_leftovers
    ;;
esac
pass
