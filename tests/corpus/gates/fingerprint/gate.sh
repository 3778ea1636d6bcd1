#!/bin/sh
# The environment fingerprint: one "key: value" line per thing a gate can see (README,
# "What a gate sees"). POSIX sh and coreutils only, so it runs on any image. Values that
# differ from run to run (pids, sizes, addresses) are reduced to what the contract promises.
# GATE_HOST_MEM_KIB and GATE_HOST_CPUS: the host's MemTotal and CPU count, to tell the
# host's view from one the stack bounds.
set -u
say() { printf '%s: %s\n' "$1" "$2"; }
yes_no() { if "$@" >/dev/null 2>&1; then echo yes; else echo no; fi; }

say uid "$(id -u)"
say gid "$(id -g)"
say groups "$(id -G)"
say home "${HOME-(unset)}"
say user "${USER-(unset)}"
say path "${PATH-(unset)}"
say lang "${LANG-(unset)}"
say lc_all "${LC_ALL-(unset)}"
say tz "${TZ-(unset)}"
# The variables beyond the profile's run.env (this gate's: GATE_*, PATH), HOME (above) and
# the shell's own (PWD, SHLVL, _, OLDPWD).
say extra_env "$(env | sed -n 's/=.*//p' | grep -vxE 'GATE_.*|PATH|PWD|SHLVL|_|OLDPWD|HOME' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')"
say cwd "$(pwd)"
say umask "$(umask)"
say ulimit_n "$(ulimit -n)"
# The soft limit on processes, from /proc (dash's ulimit has no -u; gVisor has no such file).
say ulimit_u "$(awk 'index($0, "Max processes") == 1 { print $3 }' /proc/self/limits 2>/dev/null || echo '(no /proc/self/limits)')"
say hostname "$(cat /proc/sys/kernel/hostname)"
say etc_hostname "$(cat /etc/hostname 2>/dev/null || echo '(none)')"
say hosts_localhost "$(awk '$0 !~ /^#/ { for (i = 2; i <= NF; i++) if ($i == "localhost") print $1 }' /etc/hosts 2>/dev/null | LC_ALL=C sort -u | tr '\n' ' ' | sed 's/ $//')"
say hosts_hostname "$(yes_no grep -qw "$(cat /proc/sys/kernel/hostname)" /etc/hosts)"
say resolv_conf "$(if [ -e /etc/resolv.conf ]; then echo "nameservers=$(awk '$1 == "nameserver" { n++ } END { print n + 0 }' /etc/resolv.conf)"; else echo '(none)'; fi)"

# A mount's type and the options the contract names, from /proc/mounts (the last entry wins).
mount_of() {
  awk -v m="$1" '$2 == m { t = $3; o = $4 } END {
    if (t == "") { print "(not a mount)"; exit }
    n = split(o, a, ","); f = ""
    for (i = 1; i <= n; i++) if (a[i] ~ /^(ro|rw|noexec|nosuid|nodev)$/) f = f "," a[i]
    print t f }' /proc/mounts
}
say tmp_mount "$(mount_of /tmp)"
say tmp_writable "$(yes_no sh -c 'echo x > /tmp/.fp && rm /tmp/.fp')"
say tmp_exec "$(printf '#!/bin/sh\nexit 0\n' > /tmp/.fp.sh && chmod 700 /tmp/.fp.sh && yes_no /tmp/.fp.sh; rm -f /tmp/.fp.sh)"
say dev_shm_mount "$(mount_of /dev/shm)"
say dev_shm_writable "$(yes_no sh -c 'echo x > /dev/shm/.fp && rm /dev/shm/.fp')"
devs=""
for d in null zero full random urandom tty ptmx pts shm fd stdin stdout stderr; do
  [ -e "/dev/$d" ] && devs="$devs $d"
done
say dev "${devs# }"
say dev_null_works "$(yes_no sh -c 'echo x > /dev/null && [ "$(head -c 4 /dev/zero | wc -c)" = 4 ] && head -c 8 /dev/urandom | wc -c | grep -qx 8')"
say root_writable "$(yes_no test -w /)"
say proc_pid1 "$(if [ "$$" = 1 ]; then echo self; else cat /proc/1/comm 2>/dev/null || echo '(hidden)'; fi)"
# access(2) only: never write to /proc/sys (run outside a sandbox, that would be the host's).
say proc_sys_writable "$(yes_no test -w /proc/sys/kernel/hostname)"
say sys_mount "$(mount_of /sys)"
# What nproc says: the host's CPUs, or limits.cpus (1 in the fingerprint profile) where the
# stack bounds what a program sees. GATE_HOST_CPUS: the host's count.
cpus=$(nproc)
say nproc "$(if [ "$cpus" = "${GATE_HOST_CPUS:-}" ]; then echo host; elif [ "$cpus" = 1 ]; then echo limit; else echo "other ($cpus)"; fi)"
memtotal=$(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)
say memory "$(if [ "$memtotal" -ge $((${GATE_HOST_MEM_KIB:-0} * 9 / 10)) ]; then echo host; else echo bounded; fi)"
say network "$(awk 'NR > 2 { sub(":", "", $1); printf "%s ", $1 }' /proc/net/dev 2>/dev/null | tr ' ' '\n' | LC_ALL=C sort | tr '\n' ' ' | sed 's/^ *//; s/ $//')"
