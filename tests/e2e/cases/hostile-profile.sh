#!/usr/bin/env bash
# A hostile profile (it may come with the change under review) cannot choose what gatebox
# runs or talks to with the operator's authority (issues 16 and 23): the programs run as root,
# the guest kernel, the Docker daemon and runtime, the kubeconfig, context, registry and
# RuntimeClass. Each is refused with exit 65 at its file:line:col by `run`, `run --dry-run`
# and `validate`, and no planted program ever runs. With a site policy, a rootfs.dir outside
# the policy's sources ("/", to read /etc/shadow as 0:0) is refused too. Nothing here starts a
# sandbox: every run is refused before that.
. "$(dirname "$0")/../lib.sh"

# Programs that leave a mark when anything runs them (as `runsc flags`, `qemu --version`, ...).
mkdir -p "$T/planted"
for prog in runsc qemu firecracker kernel; do
  cat >"$T/planted/$prog" <<EOF2
#!/bin/sh
echo "\$0 \$*" >>"$T/ran"
echo "runsc version 0.0"
EOF2
  chmod 755 "$T/planted/$prog"
done
cat >"$T/planted/kubeconfig" <<EOF2
apiVersion: v1
kind: Config
clusters:
- name: evil
  cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}
users:
- name: u
  user: {tokenFile: /etc/shadow}
contexts:
- name: evil
  context: {cluster: evil, user: u}
current-context: evil
EOF2

expect_nothing_ran() {
  [ ! -e "$T/ran" ] || fail "a planted program ran: $(cat "$T/ran")"
}

# The site policy is none unless a check sets one: the host's own must not decide the case.
export GATEBOX_POLICY=""

check_refused() { # check_refused NAME KEY SECTION...: one key in a profile, refused three ways
  local name=$1 key=$2
  shift 2
  make_profile "$name" <<EOF2
name = "e2e-hostile-$name"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", "echo $MARKER"]
$(printf '%s\n' "$@")
EOF2
  gb_run "$PROFILE"
  expect_exit 65
  expect_stderr_matches "$name\\.toml:7:[0-9]+: $key"
  expect_stderr_has "the operator's choice"
  expect_stdout_lacks "$MARKER"
  gb_run "$PROFILE" --dry-run
  expect_exit 65
  expect_stderr_has "$key"
  local rc=0
  "$GATEBOX" validate "$PROFILE" >"$T/stdout" 2>"$T/stderr" || rc=$?
  [ "$rc" = 65 ] || fail "validate of a profile setting $key: expected exit 65, got $rc ($(cat "$T/stderr"))"
  expect_nothing_ran
}

check_refused runsc stack.gvisor.runsc "[stack.gvisor]" "runsc = \"$T/planted/runsc\""
check_refused runsc-relative stack.gvisor.runsc "[stack.gvisor]" 'runsc = "planted/runsc"'
check_refused qemu stack.qemu.binary "[stack.qemu]" "binary = \"$T/planted/qemu\""
check_refused qemu-kernel stack.qemu.kernel "[stack.qemu]" "kernel = \"$T/planted/kernel\""
check_refused firecracker stack.firecracker.binary "[stack.firecracker]" "binary = \"$T/planted/firecracker\""
check_refused fc-kernel stack.firecracker.kernel "[stack.firecracker]" "kernel = \"$T/planted/kernel\""
check_refused docker-host stack.docker.host "[stack.docker]" 'host = "tcp://127.0.0.1:1"'
check_refused docker-runtime stack.docker.runtime "[stack.docker]" 'runtime = "runc"'
check_refused kubeconfig stack.kubernetes.kubeconfig "[stack.kubernetes]" "kubeconfig = \"$T/planted/kubeconfig\""
check_refused kube-context stack.kubernetes.context "[stack.kubernetes]" 'context = "prod-admin"'
# On the kubernetes stack the suite names the registry with --set (lib.sh), and the
# operator's value replaces the profile's: there is nothing left to refuse.
[ "$GATEBOX_STACK" = kubernetes ] ||
  check_refused kube-registry stack.kubernetes.registry "[stack.kubernetes]" 'registry = "evil.example.com/loot"'
check_refused kube-runtime-class stack.kubernetes.runtime_class "[stack.kubernetes]" 'runtime_class = "runc"'

# kind = "auto" under --dry-run asks every stack, and still runs nothing — not even the
# operator's own programs (named here with --set, which is the operator's channel).
make_profile auto <<EOF2
name = "e2e-hostile-auto"
[stack]
kind = "auto"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", "echo $MARKER"]
EOF2
rc=0
"$GATEBOX" run "$PROFILE" --dry-run --cache-dir "$GB_CACHE" \
  --set "stack.gvisor.runsc=\"$T/planted/runsc\"" --set "stack.qemu.binary=\"$T/planted/qemu\"" \
  --set "stack.firecracker.binary=\"$T/planted/firecracker\"" >"$T/stdout" 2>"$T/stderr" || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 69 ] || fail "run --dry-run of an auto profile: expected exit 0 or 69, got $rc ($(cat "$T/stderr"))"
[ "$rc" != 0 ] || expect_stdout_has "nothing was started"
expect_nothing_ran

# With a site policy that lists no rootfs sources, a host directory as the root is refused:
# rootfs.dir = "/" with run.user = "0:0" read the host's /etc/shadow on gvisor. (The user is
# left at its default here, so that every stack's own checks pass and the policy's refusal
# is the one seen, also on kubernetes, which refuses uid 0 by itself.)
printf '[limits]\npids = 4096\n' >"$T/policy.toml"
make_profile root-dir <<EOF2
name = "e2e-hostile-root-dir"
[rootfs]
dir = "/"
[run]
argv = ["/bin/cat", "/etc/shadow"]
EOF2
GATEBOX_POLICY=$T/policy.toml gb_run "$PROFILE"
expect_exit 65
expect_stderr_has "rootfs.dir"
expect_stderr_has "$T/policy.toml"
# With a list, "/" is outside it, however it is spelled (a symlink to it included).
printf '[rootfs]\nsources = ["%s/trees"]\n' "$T" >"$T/policy.toml"
mkdir -p "$T/trees"
ln -s / "$T/trees/escape"
sed -i "s|^dir = .*|dir = \"$T/trees/escape\"|" "$PROFILE"
GATEBOX_POLICY=$T/policy.toml gb_run "$PROFILE"
expect_exit 65
expect_stderr_has "outside the directories the site allows"
expect_nothing_ran
expect_no_leftovers
pass
