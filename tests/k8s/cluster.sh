#!/usr/bin/env bash
# tests/k8s/cluster.sh build|start|stop|status|env — a real single-node Kubernetes 1.20 and an
# OCI registry, for the kubernetes stack's end-to-end tests. Root only; Debian 12.
#
#   build   Builds kube-apiserver, kube-controller-manager, kube-scheduler and kubelet from
#           Debian's source package `kubernetes` (1.20.2) with Debian's Go, offline, and a
#           static pause image. Cached under /var/cache/e2e-k8s/1.20.2 (a stamp file): the
#           first build takes ~15 min on 2 cores, later calls return at once.
#   start   Wipes state of earlier starts, then runs etcd, the control plane, its own
#           containerd, kubelet and docker-registry inside the network namespace `e2e-k8s`.
#           Waits until node `e2e-k8s` is Ready and namespaces `gates` and `gates-1` have
#           their default ServiceAccount. Writes /var/lib/e2e-k8s/kubeconfig (admin,
#           namespace gates), /var/lib/e2e-k8s/kubeconfig-viewer and kubeconfig-old (admin,
#           through the second API server, below).
#   stop    Stops what start started (pidfiles), kills the pods' shims, unmounts, removes the
#           netns, the veth, state and empty kubepods cgroups. Keeps the build cache.
#           If start fails, what it started keeps running for inspection; stop cleans up.
#   status  Exit 0 if the apiserver is ready (admin token) and the node is Ready.
#   env     Prints the variables the tests read.
#
# Network: the netns `e2e-k8s` is joined to the host by a veth pair, host side `e2ek8s0`
# 10.217.0.1/30, netns side 10.217.0.2/30. The apiserver listens on 10.217.0.2:6443 (TLS,
# self-signed CA; a second one on :6444 with LocalStorageCapacityIsolation off, which drops
# emptyDir.sizeLimit from pod templates as a server too old for a hardening field would),
# the registry on 10.217.0.2:5000 (plain HTTP; containerd has a mirror
# entry for it) and a private one on 10.217.0.2:5001 (HTTP Basic, user `gates`, a password
# made per start; its Docker client config is $state/docker-config, its pull Secret
# `private-registry` in namespaces gates and gates-1). Pods get 10.244.0.0/24 on a bridge
# inside the netns. Gates must run with "network none" semantics, so pods reach nothing:
# ip_forward is 0 in the netns (no route out) and iptables drops every packet from
# 10.244.0.0/24 to the netns itself (apiserver, registries, kubelet, etcd). Pod-to-pod
# traffic on the bridge is layer 2 and not filtered.
#
# Users (token auth): admin (system:masters); system:node:e2e-k8s (system:nodes); `viewer`,
# which RBAC lets only get/list/watch jobs and pods in namespaces `gates` and `gates-1`.
#
# No path here says "gatebox": the end-to-end suite counts mounts and processes whose path
# says so as leftovers of its runs.
set -euo pipefail

version=1.20.2
cache=/var/cache/e2e-k8s
vcache=$cache/$version
bin=$vcache/bin
stamp=$vcache/stamp
state=/var/lib/e2e-k8s
run=/run/e2e-k8s
netns=e2e-k8s
node=e2e-k8s
host_if=e2ek8s0
host_ip=10.217.0.1
ns_ip=10.217.0.2
pod_cidr=10.244.0.0/24
api=https://$ns_ip:6443
old_api=https://$ns_ip:6444
registry=$ns_ip:5000
private_registry=$ns_ip:5001
private_user=gates
private_secret=private-registry
pause_image=e2e-k8s.invalid/pause:3.4
ctrd_sock=$run/containerd/containerd.sock
host_dirs=(/var/log/pods /var/log/containers /var/lib/kubelet /var/lib/cni)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The nodes' Localhost profile gatebox/default.json: gatebox's default policy as an OCI
# profile (gatebox export seccomp), what the README tells operators to install. Docker's own
# profile is no substitute: containerd ignores its includes/excludes.
gatebox_bin=${GATEBOX:-$here/../../build/gatebox}

t0=${EPOCHREALTIME/./}
elapsed() { local us=$((${EPOCHREALTIME/./} - t0)); printf '%d.%02d' $((us / 1000000)) $((us % 1000000 / 10000)); }
step() { printf '[%6ss] %s\n' "$(elapsed)" "$*"; }

# Writes the nodes' gatebox/default.json from gatebox's own default policy. Without a built
# gatebox the cluster starts without it (a Localhost run then fails with the reason).
install_seccomp_profile() {
  local out=$state/seccomp/gatebox/default.json
  rm -f "$out"
  if [ ! -x "$gatebox_bin" ]; then
    echo "k8s: note: $gatebox_bin is not built: no Localhost seccomp profile gatebox/default.json" >&2
    return 0
  fi
  printf 'name = "cluster-seccomp"\n[rootfs]\ndir = "/"\n[run]\nargv = ["/bin/true"]\n' >"$state/seccomp.toml"
  GATEBOX_POLICY= "$gatebox_bin" export seccomp "$state/seccomp.toml" >"$out.part" ||
    die "gatebox export seccomp failed: no Localhost seccomp profile"
  mv "$out.part" "$out"
}
die() { echo "k8s: $*" >&2; exit 1; }
in_ns() { nsenter --net=/run/netns/$netns -- "$@"; }

# ---------------------------------------------------------------------------------------
# build

src_dir() { find "$vcache/src" -maxdepth 1 -type d -name 'kubernetes-*' | head -n1; }

build() {
  [ -f "$stamp" ] && { echo "k8s: build cached ($stamp)"; return 0; }
  [ "$(id -u)" = 0 ] || die "build needs root"
  command -v go >/dev/null || die "go is missing (apt-get install golang-go)"
  local reflect2=/usr/share/gocode/src/github.com/modern-go/reflect2
  [ -f "$reflect2/reflect2.go" ] || die "golang-github-modern-go-reflect2-dev is missing"
  mkdir -p "$vcache/src" "$bin" "$cache/gocache"

  local tree
  tree=$(src_dir)
  if [ -z "$tree" ]; then
    step "apt-get source kubernetes"
    (cd "$vcache/src" && apt-get source -q kubernetes >"$vcache/apt-source.log" 2>&1) ||
      die "apt-get source kubernetes failed (deb-src entry missing? run scripts/install-deps.sh); see $vcache/apt-source.log"
    tree=$(src_dir)
  fi
  # The vendored reflect2 1.0.1 crashes the apiserver under Go 1.19 (first Job POST).
  if ! cmp -s "$reflect2/reflect2.go" "$tree/vendor/github.com/modern-go/reflect2/reflect2.go"; then
    step "vendor: reflect2 <- Debian's $(dpkg-query -W -f='${Version}' golang-github-modern-go-reflect2-dev)"
    rm -rf "$tree/vendor/github.com/modern-go/reflect2"
    mkdir -p "$tree/vendor/github.com/modern-go/reflect2"
    cp "$reflect2"/*.go "$reflect2"/*.s "$tree/vendor/github.com/modern-go/reflect2/"
  fi

  # 1.20 builds in GOPATH mode (its hack/ scripts set GO111MODULE=off; module mode wants
  # go.mod updates). vendor/ is used implicitly there, nothing is fetched.
  export GOPATH=$cache/gopath GOCACHE=$cache/gocache GOPROXY=off GOFLAGS= GO111MODULE=off \
    CGO_ENABLED=0 HOME=$cache
  mkdir -p "$GOPATH/src/k8s.io"
  ln -sfn "$tree" "$GOPATH/src/k8s.io/kubernetes"
  cd "$GOPATH/src/k8s.io/kubernetes"
  GOROOT=$(go env GOROOT)
  export GOROOT

  # The only generated file the four binaries need that the tarball lacks is
  # pkg/generated/openapi (kube-apiserver). Same inputs as Makefile.generated_files.
  if [ ! -f pkg/generated/openapi/zz_generated.openapi.go ]; then
    step "openapi-gen"
    go build -trimpath -o "$vcache/openapi-gen" ./vendor/k8s.io/kube-openapi/cmd/openapi-gen
    local dirs
    dirs=$(grep -rl --include='*.go' --exclude-dir=vendor -e '+k8s:openapi-gen=' $(ls -d [!_]*/) |
      xargs grep -l '^// *+k8s:' | xargs -n1 dirname | sed 's|^staging/src|vendor|' |
      LC_ALL=C sort -u |
      grep -v -e '^vendor/k8s.io/code-generator/' -e '^vendor/k8s.io/sample-apiserver/' |
      sed 's|^|k8s.io/kubernetes/|' | paste -sd,)
    "$vcache/openapi-gen" --logtostderr -i "$dirs" -p k8s.io/kubernetes/pkg/generated/openapi \
      -O zz_generated.openapi -h vendor/k8s.io/code-generator/hack/boilerplate.go.txt \
      -r "$vcache/openapi-violations.report" >"$vcache/openapi-gen.log" 2>&1 ||
      die "openapi-gen failed; see $vcache/openapi-gen.log"
  fi

  # providerless: no in-tree cloud providers (AWS, Azure, GCE SDKs), a good part of the
  # compile time, and nothing a single local node needs.
  step "go build kube-apiserver kube-controller-manager kube-scheduler kubelet ($(go version | cut -d' ' -f3))"
  local v=k8s.io/kubernetes/vendor ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $v/$pkg.gitVersion=v$version -X $v/$pkg.gitMajor=1 -X $v/$pkg.gitMinor=20"
  done
  ldflags+=" -X $v/k8s.io/component-base/version.gitTreeState=clean"
  go build -tags providerless -trimpath -ldflags "$ldflags" -o "$bin/" ./cmd/kube-apiserver \
    ./cmd/kube-controller-manager ./cmd/kube-scheduler ./cmd/kubelet

  step "pause image"
  build_pause "$tree"
  date -u +%FT%TZ >"$stamp"
  step "build done"
}

# A static pause binary in a one-layer OCI image archive that `ctr images import` takes.
build_pause() {
  local tree=$1 w=$vcache/pause
  rm -rf "$w" && mkdir -p "$w/root" "$w/oci/blobs/sha256"
  gcc -Os -Wall -Werror -static -DVERSION=v3.4-e2e -o "$w/root/pause" "$tree/build/pause/linux/pause.c"
  strip "$w/root/pause"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$w/root" -cf "$w/layer.tar" pause
  local layer size_l config size_c manifest size_m
  layer=$(sha256sum "$w/layer.tar" | cut -d' ' -f1)
  size_l=$(stat -c %s "$w/layer.tar")
  mv "$w/layer.tar" "$w/oci/blobs/sha256/$layer"
  printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/pause"],"User":"65535:65535"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$layer" >"$w/config.json"
  config=$(sha256sum "$w/config.json" | cut -d' ' -f1)
  size_c=$(stat -c %s "$w/config.json")
  mv "$w/config.json" "$w/oci/blobs/sha256/$config"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$config" "$size_c" "$layer" "$size_l" >"$w/manifest.json"
  manifest=$(sha256sum "$w/manifest.json" | cut -d' ' -f1)
  size_m=$(stat -c %s "$w/manifest.json")
  mv "$w/manifest.json" "$w/oci/blobs/sha256/$manifest"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$manifest" "$size_m" "$pause_image" "${pause_image##*:}" >"$w/oci/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$w/oci/oci-layout"
  tar --owner=0 --group=0 -C "$w/oci" -cf "$vcache/pause.tar" oci-layout index.json blobs
  rm -rf "$w"
}

# ---------------------------------------------------------------------------------------
# start

admin_token() { cut -d, -f1 <"$state/pki/admin.token"; }

kcurl() { # kcurl TOKEN METHOD PATH [JSON]
  local args=(-sS --noproxy '*' --max-time 10 --cacert "$state/pki/ca.crt" -H "Authorization: Bearer $1" -X "$2")
  [ $# -ge 4 ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
  curl "${args[@]}" "$api$3"
}

spawn() { # spawn NAME CMD... — in the netns, own session, log and pidfile under $state
  local name=$1; shift
  setsid nsenter --net=/run/netns/$netns -- "$@" </dev/null >"$state/log/$name.log" 2>&1 &
  echo $! >"$run/pid/$name"
  # The program's name, which its command line shows (kube-apiserver-old runs kube-apiserver).
  basename "$1" >"$run/pid/$name.bin"
}

alive_or_die() {
  local name=$1 pid
  pid=$(cat "$run/pid/$name")
  gone "$pid" || return 0
  local log=$state/log/$name.log
  echo "k8s: $name exited at start; last lines of $log:" >&2
  tail -n 10 "$log" | cut -c1-300 | sed 's/^/    /' >&2
  # A Go program that panics ends its log with a goroutine dump whose tail says nothing:
  # the lines that say why come first (klog's fatal F lines, panics, "failed to run").
  local why
  why=$(grep -m 6 -E '^(panic:|fatal error:|F[0-9]{4} |Error: )|[Ff]ailed to run|unable to |failed to start' "$log" | cut -c1-400 || true)
  if [ -n "$why" ]; then
    echo "k8s: why $name exited (first error lines of its log):" >&2
    printf '%s\n' "$why" | sed 's/^/    /' >&2
  fi
  exit 1
}

wait_for() { # wait_for SECONDS WHAT NAME... -- CMD... — polls CMD every 0.1 s; NAMEs must live
  local secs=$1 what=$2; shift 2
  local names=()
  while [ "$1" != -- ]; do names+=("$1"); shift; done
  shift
  local i
  for ((i = 0; i < secs * 10; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    for n in "${names[@]}"; do alive_or_die "$n"; done
    sleep 0.1
  done
  die "$what: not ready within $secs s (logs: $state/log/)"
}

apiserver() { # apiserver NAME PORT FEATURE_GATES [ARGS...]
  local name=$1 port=$2 gates=$3
  shift 3
  spawn "$name" "$bin/kube-apiserver" \
    --etcd-servers=http://127.0.0.1:2379 \
    --bind-address=0.0.0.0 --advertise-address=$ns_ip --secure-port="$port" --insecure-port=0 \
    --tls-cert-file="$state/pki/apiserver.crt" --tls-private-key-file="$state/pki/apiserver.key" \
    --client-ca-file="$state/pki/ca.crt" --token-auth-file="$state/pki/tokens.csv" \
    --authorization-mode=Node,RBAC --allow-privileged=false \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$state/pki/sa.pub" \
    --service-account-signing-key-file="$state/pki/sa.key" \
    --service-cluster-ip-range=10.96.0.0/16 \
    --kubelet-client-certificate="$state/pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$state/pki/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types=InternalIP \
    --enable-admission-plugins=NodeRestriction --profiling=false \
    --feature-gates="$gates" "$@"
}

write_kubeconfig() { # write_kubeconfig FILE USER TOKEN NAMESPACE [SERVER]
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: e2e-k8s
  cluster:
    server: ${5:-$api}
    certificate-authority-data: $(base64 -w0 <"$state/pki/ca.crt")
users:
- name: $2
  user:
    token: $3
contexts:
- name: $2@e2e-k8s
  context:
    cluster: e2e-k8s
    user: $2
    namespace: $4
current-context: $2@e2e-k8s
EOF
  # Readable by all: a throwaway cluster in its own netns, and some e2e cases run gatebox
  # as an unprivileged user.
  case $1 in */kubeconfig | */kubeconfig-viewer | */kubeconfig-old) chmod 644 "$1" ;; *) chmod 600 "$1" ;; esac
}

make_pki() {
  local p=$state/pki
  mkdir -p "$p" && chmod 700 "$p"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj /CN=e2e-k8s-ca -keyout "$p/ca.key" -out "$p/ca.crt" 2>/dev/null
  # name SUBJECT [SANS]
  cert() {
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$2" \
      -keyout "$p/$1.key" -out "$p/$1.csr" 2>/dev/null
    local ext=$p/$1.ext
    printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=%s\n' "$3" >"$ext"
    [ -n "${4:-}" ] && echo "subjectAltName=$4" >>"$ext"
    openssl x509 -req -in "$p/$1.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial \
      -days 30 -extfile "$ext" -out "$p/$1.crt" 2>/dev/null
    rm -f "$p/$1.csr" "$ext"
  }
  cert apiserver /CN=kube-apiserver serverAuth \
    "IP:$ns_ip,IP:127.0.0.1,IP:10.96.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost"
  cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
  # ES256 service-account tokens: an EC key is made in milliseconds, RSA takes seconds here.
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$p/sa.key" 2>/dev/null
  openssl pkey -in "$p/sa.key" -pubout -out "$p/sa.pub" 2>/dev/null

  local admin nodet viewer cm sched
  admin=$(openssl rand -hex 16) nodet=$(openssl rand -hex 16) viewer=$(openssl rand -hex 16)
  cm=$(openssl rand -hex 16) sched=$(openssl rand -hex 16)
  echo "$admin" >"$p/admin.token"
  cat >"$p/tokens.csv" <<EOF
$admin,admin,uid-admin,"system:masters"
$nodet,system:node:$node,uid-node,"system:nodes"
$viewer,viewer,uid-viewer
$cm,system:kube-controller-manager,uid-kcm
$sched,system:kube-scheduler,uid-sched
EOF
  write_kubeconfig "$state/kubeconfig" admin "$admin" gates
  write_kubeconfig "$state/kubeconfig-viewer" viewer "$viewer" gates
  write_kubeconfig "$state/kubeconfig-old" admin "$admin" gates "$old_api"
  write_kubeconfig "$state/kubelet.kubeconfig" "system:node:$node" "$nodet" default
  write_kubeconfig "$state/controller-manager.kubeconfig" system:kube-controller-manager "$cm" kube-system
  write_kubeconfig "$state/scheduler.kubeconfig" system:kube-scheduler "$sched" kube-system
}

write_containerd_config() {
  local c=$state/containerd
  mkdir -p "$c" "$state/cni/net.d"
  # Its own root, state, socket and plugin dirs: the host's containerd (if any) is untouched.
  cat >"$c/config.toml" <<EOF
version = 2
root = "$state/containerd/root"
state = "$run/containerd/state"
oom_score = 0
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.overlayfs",
  "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "$ctrd_sock"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$pause_image"
  # root lacks CAP_SYS_RESOURCE here: runc could not lower oom_score_adj otherwise.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  disable_apparmor = true
  # Pod netns files under our state dir, not /run/netns (stop unmounts them).
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/bin/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$state/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."$registry"]
    endpoint = ["http://$registry"]
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."$private_registry"]
    endpoint = ["http://$private_registry"]
EOF
  cat >"$state/cni/net.d/10-e2e-k8s.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "e2e-k8s",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "e2ek8sbr0",
      "isGateway": true,
      "ipMasq": false,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$pod_cidr"}]],
        "dataDir": "$state/cni/ipam"
      }
    },
    {"type": "loopback"}
  ]
}
EOF
}

# What the kubelet and containerd need from the host and that a container (docker,
# systemd-nspawn, a chroot) may not give: each missing piece is named, with the reason,
# before anything starts, instead of a daemon's goroutine dump later.
preflight() {
  local lacks=()
  # The kubelet's OOM watcher reads the kernel log; without it the kubelet exits at start.
  [ -r /dev/kmsg ] || lacks+=("/dev/kmsg (the kubelet's OOM watcher reads the kernel log)")
  # The kubelet sets vm.overcommit_memory, vm.panic_on_oom, kernel.panic(_on_oops) at start.
  local f
  for f in /proc/sys/vm/overcommit_memory /proc/sys/kernel/panic; do
    [ -w "$f" ] && (: >>"$f") 2>/dev/null ||
      lacks+=("a writable $f (the kubelet sets kernel defaults; /proc/sys is read-only in most containers)")
  done
  # Pods' limits are cgroups: the controllers the kubelet's container manager requires.
  local c
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    for c in cpu memory pids cpuset; do
      grep -qw "$c" /sys/fs/cgroup/cgroup.controllers || lacks+=("the cgroup2 controller $c")
    done
    [ -w /sys/fs/cgroup/cgroup.subtree_control ] || lacks+=("a writable /sys/fs/cgroup (cgroup2)")
  else
    for c in cpu cpuacct cpuset memory pids; do
      [ -d /sys/fs/cgroup/$c ] || lacks+=("the cgroup v1 controller $c (mounted at /sys/fs/cgroup/$c)")
    done
    [ ! -d /sys/fs/cgroup/memory ] || [ -w /sys/fs/cgroup/memory ] || lacks+=("a writable /sys/fs/cgroup/memory")
  fi
  # The cluster lives in a network namespace of its own, with iptables rules inside.
  if ! ip netns add e2e-k8s-preflight 2>/dev/null; then
    lacks+=("network namespaces (ip netns add failed: CAP_SYS_ADMIN and CAP_NET_ADMIN are needed)")
  else
    nsenter --net=/run/netns/e2e-k8s-preflight -- iptables -w -L >/dev/null 2>&1 ||
      lacks+=("iptables in a network namespace (the nf_tables/ip_tables kernel support)")
    ip netns delete e2e-k8s-preflight
  fi
  if [ ${#lacks[@]} -gt 0 ]; then
    echo "k8s: this host cannot run the test cluster; it lacks:" >&2
    printf '    - %s\n' "${lacks[@]}" >&2
    die "host requirements not met (a container needs them passed in: e.g. --privileged, or /dev/kmsg, a writable /proc/sys and the cgroup controllers)"
  fi
}

start() {
  [ "$(id -u)" = 0 ] || die "start needs root"
  [ -f "$stamp" ] || die "not built yet: run $0 build"
  for cmd in etcd containerd runc ctr docker-registry openssl curl jq nsenter ip iptables; do
    command -v "$cmd" >/dev/null || die "$cmd is missing (scripts/install-deps.sh)"
  done
  preflight
  step "wipe earlier state"
  stop >/dev/null 2>&1 || true
  mkdir -p "$state/log" "$run/pid" "$state/seccomp/gatebox" "$run/etcd"
  # Paths 1.20 and containerd 1.6 hard-code (container logs, device plugins, libcni's result
  # cache): stop removes those that did not exist before start.
  for d in "${host_dirs[@]}"; do [ -e "$d" ] || echo "$d" >>"$state/made-dirs"; done

  step "netns $netns, veth $host_if $host_ip/30 <-> $ns_ip/30"
  ip netns add $netns
  ip link add $host_if type veth peer name eth0 netns $netns
  ip addr add $host_ip/30 dev $host_if
  ip link set $host_if up
  in_ns ip addr add $ns_ip/30 dev eth0
  in_ns ip link set eth0 up
  in_ns ip link set lo up
  in_ns sysctl -qw net.ipv4.ip_forward=0
  # Pods reach nothing: no forwarding out, no packets to the netns's own services.
  in_ns iptables -w -P FORWARD DROP
  in_ns iptables -w -I INPUT 1 -s $pod_cidr -j DROP

  step "pki, tokens, kubeconfigs"
  make_pki
  install_seccomp_profile
  write_containerd_config
  cat >"$state/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $state/registry
  delete:
    enabled: true
http:
  addr: $registry
EOF
  # The private registry: HTTP Basic, a password made per start. Gatebox pushes with it from
  # a Docker client config (as `docker login` writes one); the nodes pull with the Secret
  # $private_secret in each test namespace.
  local password
  password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  # docker-registry's htpasswd wants bcrypt (apache2-utils; Python's crypt module is gone
  # from newer Pythons).
  htpasswd -nbB -C 5 "$private_user" "$password" | sed '/^$/d' >"$state/private-registry.htpasswd"
  sed -e "s|rootdirectory: $state/registry|rootdirectory: $state/private-registry|" -e "s|addr: $registry|addr: $private_registry|" \
    "$state/registry.yml" >"$state/private-registry.yml"
  printf 'auth:\n  htpasswd:\n    realm: e2e-k8s\n    path: %s\n' "$state/private-registry.htpasswd" >>"$state/private-registry.yml"
  mkdir -p "$state/docker-config"
  private_auths=$(printf '{"auths":{"%s":{"auth":"%s"}}}' "$private_registry" "$(printf '%s:%s' "$private_user" "$password" | base64 -w0)")
  printf '%s\n' "$private_auths" >"$state/docker-config/config.json"
  chmod 0600 "$state/docker-config/config.json" "$state/private-registry.htpasswd"

  step "etcd, containerd, docker-registry"
  # etcd on tmpfs: nothing here needs to survive, and fsync on a busy disk is slow.
  mount -t tmpfs -o size=1g,mode=700 e2e-k8s-etcd "$run/etcd"
  spawn etcd etcd --name e2e-k8s --data-dir "$run/etcd/data" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster e2e-k8s=http://127.0.0.1:2380 --log-level warn
  spawn containerd containerd --config "$state/containerd/config.toml"
  spawn registry docker-registry serve "$state/registry.yml"
  spawn private-registry docker-registry serve "$state/private-registry.yml"

  etcd_ok() { in_ns curl -fsS --noproxy '*' --max-time 1 http://127.0.0.1:2379/health; }
  wait_for 30 etcd etcd -- etcd_ok
  step "kube-apiserver"
  apiserver kube-apiserver 6443 TTLAfterFinished=true
  # A second API server on the same etcd that plays an older or stripped-down one: with
  # LocalStorageCapacityIsolation off it drops emptyDir.sizeLimit from every pod template,
  # a hardening field gatebox sets (the /tmp bound), so a run through it must be refused.
  apiserver kube-apiserver-old 6444 TTLAfterFinished=true,LocalStorageCapacityIsolation=false \
    --endpoint-reconciler-type=none

  ctrd_ok() { ctr --address "$ctrd_sock" version; }
  wait_for 30 containerd containerd -- ctrd_ok
  step "import pause image"
  ctr --address "$ctrd_sock" -n k8s.io images import --no-unpack "$vcache/pause.tar" >/dev/null

  api_ok() { [ "$(kcurl "$(admin_token)" GET /readyz)" = ok ]; }
  wait_for 60 kube-apiserver kube-apiserver etcd -- api_ok
  old_api_ok() { [ "$(curl -sS --noproxy '*' --max-time 1 --cacert "$state/pki/ca.crt" -H "Authorization: Bearer $(admin_token)" "$old_api/readyz")" = ok ]; }
  wait_for 60 "kube-apiserver on 6444" kube-apiserver-old etcd -- old_api_ok
  step "kube-controller-manager, kube-scheduler, kubelet"
  spawn kube-controller-manager "$bin/kube-controller-manager" \
    --kubeconfig="$state/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$state/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$state/controller-manager.kubeconfig" \
    --leader-elect=false --use-service-account-credentials=true \
    --service-account-private-key-file="$state/pki/sa.key" --root-ca-file="$state/pki/ca.crt" \
    --bind-address=127.0.0.1 --port=0 --profiling=false \
    --flex-volume-plugin-dir="$state/kubelet-plugins" \
    --feature-gates=TTLAfterFinished=true
  spawn kube-scheduler "$bin/kube-scheduler" \
    --kubeconfig="$state/scheduler.kubeconfig" \
    --authentication-kubeconfig="$state/scheduler.kubeconfig" \
    --authorization-kubeconfig="$state/scheduler.kubeconfig" \
    --leader-elect=false --bind-address=127.0.0.1 --port=0 --profiling=false
  mkdir -p "$state/kubelet" "$state/kubelet-plugins"
  # Eviction and image GC thresholds that never trigger: a test must not lose its pod to
  # the host's disk filling up with other helpers' builds.
  spawn kubelet "$bin/kubelet" \
    --kubeconfig="$state/kubelet.kubeconfig" --hostname-override=$node --node-ip=$ns_ip \
    --root-dir="$state/kubelet" --cert-dir="$state/kubelet/pki" \
    --volume-plugin-dir="$state/kubelet-plugins" \
    --container-runtime=remote --container-runtime-endpoint="unix://$ctrd_sock" \
    --runtime-request-timeout=5m --cgroup-driver=cgroupfs --fail-swap-on=false \
    --pod-infra-container-image=$pause_image \
    --eviction-hard='memory.available<1Mi,nodefs.available<1%,nodefs.inodesFree<1%,imagefs.available<1%' \
    --image-gc-high-threshold=100 --image-gc-low-threshold=99 \
    --seccomp-profile-root="$state/seccomp" \
    --address=$ns_ip --read-only-port=0 --anonymous-auth=false \
    --client-ca-file="$state/pki/ca.crt" --authorization-mode=AlwaysAllow \
    --oom-score-adj=0 --node-status-update-frequency=4s \
    --pod-max-pids=256

  step "namespaces gates and gates-1, viewer RBAC"
  local t ns
  t=$(admin_token)
  # The tests' two lanes run side by side, one namespace each (tests/e2e/CMakeLists.txt).
  for ns in gates gates-1; do
    kcurl "$t" POST /api/v1/namespaces '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"'$ns'"}}' >/dev/null
    kcurl "$t" POST /apis/rbac.authorization.k8s.io/v1/namespaces/$ns/roles \
      '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"viewer"},"rules":[{"apiGroups":["batch"],"resources":["jobs"],"verbs":["get","list","watch"]},{"apiGroups":[""],"resources":["pods"],"verbs":["get","list","watch"]}]}' >/dev/null
    kcurl "$t" POST /apis/rbac.authorization.k8s.io/v1/namespaces/$ns/rolebindings \
      '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"viewer"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"viewer"},"subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"viewer"}]}' >/dev/null
    kcurl "$t" POST /api/v1/namespaces/$ns/secrets \
      '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"'$private_secret'"},"type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson":"'"$(printf '%s' "$private_auths" | base64 -w0)"'"}}' >/dev/null
  done
  # A RuntimeClass for containerd's runc handler, so that stack.kubernetes.runtime_class has
  # one to name here (gVisor's would need containerd-shim-runsc-v1, which Debian lacks).
  kcurl "$t" POST /apis/node.k8s.io/v1/runtimeclasses \
    '{"apiVersion":"node.k8s.io/v1","kind":"RuntimeClass","metadata":{"name":"runc"},"handler":"runc"}' >/dev/null

  sa_ok() {
    local n
    for n in gates gates-1; do
      kcurl "$t" GET /api/v1/namespaces/$n/serviceaccounts/default | jq -e '.metadata.name == "default" and (.secrets | length > 0)' || return 1
    done
  }
  wait_for 60 "ServiceAccount default in gates and gates-1" kube-controller-manager kube-apiserver -- sa_ok
  step "registry"
  reg_ok() { curl -fsS --noproxy '*' --max-time 1 "http://$registry/v2/"; }
  wait_for 30 docker-registry registry -- reg_ok
  # It answers 401 until one logs in: that answer means it is up.
  private_reg_ok() { [ "$(curl -sS --noproxy '*' --max-time 1 -o /dev/null -w '%{http_code}' "http://$private_registry/v2/")" = 401 ]; }
  wait_for 30 "private docker-registry" private-registry -- private_reg_ok
  step "node $node Ready"
  wait_for 90 "node $node" kubelet containerd kube-scheduler -- node_ready
  step "cluster up: KUBECONFIG=$state/kubeconfig"
}

node_ready() {
  kcurl "$(admin_token)" GET /api/v1/nodes/$node |
    jq -e '.status.conditions[] | select(.type == "Ready") | .status == "True"'
}

# ---------------------------------------------------------------------------------------
# stop

gone() { # gone PID — exited (a zombie counts: nobody may be left to reap it)
  [ -r "/proc/$1/stat" ] || return 0
  [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

stop_pids() { # stop_pids NAME... — TERM all, wait up to 20 s, then KILL
  local name pid bin pids=()
  for name in "$@"; do
    [ -f "$run/pid/$name" ] || continue
    pid=$(cat "$run/pid/$name")
    bin=$(cat "$run/pid/$name.bin" 2>/dev/null || echo "$name")
    rm -f "$run/pid/$name" "$run/pid/$name.bin"
    # Only if the pid is still that program (not reused by another since).
    [ -n "$pid" ] && ! gone "$pid" && grep -qa "$bin" "/proc/$pid/cmdline" 2>/dev/null || continue
    kill -TERM "$pid" 2>/dev/null || true
    pids+=("$pid:$name")
  done
  local left i
  for ((i = 0; i < 200; i++)); do
    left=0
    for p in "${pids[@]}"; do gone "${p%%:*}" || left=1; done
    [ $left = 0 ] && return 0
    sleep 0.1
  done
  for p in "${pids[@]}"; do
    gone "${p%%:*}" && continue
    echo "k8s: ${p#*:} (pid ${p%%:*}) ignored TERM; killing it"
    kill -KILL "${p%%:*}" 2>/dev/null || true
  done
}

stop() {
  [ "$(id -u)" = 0 ] || die "stop needs root"
  # Kubelet first, so it does not restart containers we are about to kill.
  stop_pids kubelet
  stop_pids kube-scheduler kube-controller-manager kube-apiserver kube-apiserver-old registry private-registry etcd containerd
  # The pods' shims outlive containerd; ours are the ones talking to our socket. Killing a
  # shim leaves its container's processes orphaned, so kill those (the shim's children) too.
  local pids
  pids=$(pgrep -f "containerd-shim-runc-v2 .*-address $ctrd_sock" || true)
  for p in $pids; do
    pkill -KILL -P "$p" 2>/dev/null || true
    kill -KILL "$p" 2>/dev/null || true
  done
  for p in $pids; do while kill -0 "$p" 2>/dev/null; do sleep 0.05; done; done
  # Container processes re-parented elsewhere: any process whose cgroup is under kubepods.
  local c
  for c in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/unified/kubepods /sys/fs/cgroup/kubepods; do
    [ -d "$c" ] || continue
    find "$c" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
  done
  # Mounts: pod shm, rootfs bind mounts, netns files, the etcd tmpfs. Deepest first.
  local m
  for _ in 1 2 3; do
    m=$(awk -v a="$state" -v b="$run" 'index($5, a) == 1 || index($5, b) == 1 {print $5}' /proc/self/mountinfo | sort -r)
    [ -n "$m" ] || break
    for mp in $m; do umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || true; done
  done
  if ip netns list 2>/dev/null | grep -qw "^$netns"; then ip netns delete $netns; fi
  ip link delete $host_if 2>/dev/null || true
  # Empty kubepods cgroups (cgroupfs driver), deepest first; busy ones stay.
  for c in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/unified/kubepods /sys/fs/cgroup/kubepods; do
    [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  # libcni keeps results of our network under /var/lib/cni (not configurable in containerd 1.6).
  rm -f /var/lib/cni/results/e2e-k8s-* 2>/dev/null || true
  if [ -f "$state/made-dirs" ]; then
    while read -r d; do
      case " ${host_dirs[*]} " in *" $d "*) rm -rf "$d" ;; esac
    done <"$state/made-dirs"
  fi
  rm -rf "$state" "$run"
  echo "k8s: stopped"
}

# ---------------------------------------------------------------------------------------

status() {
  [ -f "$state/pki/admin.token" ] || return 1
  [ "$(kcurl "$(admin_token)" GET /readyz 2>/dev/null)" = ok ] || return 1
  node_ready >/dev/null 2>&1
}

case ${1:-} in
  build)
    build
    echo "k8s: build time $(elapsed) s"
    ;;
  start) start ;;
  stop) stop; step "stop done" ;;
  status) status ;;
  env)
    echo "KUBECONFIG=$state/kubeconfig"
    echo "GATEBOX_K8S_VIEWER_KUBECONFIG=$state/kubeconfig-viewer"
    echo "GATEBOX_K8S_OLD_KUBECONFIG=$state/kubeconfig-old"
    echo "GATEBOX_K8S_REGISTRY=http://$registry/gates"
    echo "GATEBOX_K8S_PRIVATE_REGISTRY=http://$private_registry/gates"
    echo "GATEBOX_K8S_PRIVATE_DOCKER_CONFIG=$state/docker-config"
    echo "GATEBOX_K8S_PULL_SECRET=$private_secret"
    # For the suite's own checks (leftovers, the network case): the API server, its CA and
    # the admin token, and the addresses a pod must not reach.
    echo "GATEBOX_K8S_API=$api"
    echo "GATEBOX_K8S_CA=$state/pki/ca.crt"
    echo "GATEBOX_K8S_ADMIN_TOKEN_FILE=$state/pki/admin.token"
    echo "GATEBOX_K8S_FORBIDDEN_TARGETS=$ns_ip:6443 $ns_ip:6444 $registry ${pod_cidr%.0/24}.1:6443 $host_ip:22"
    ;;
  *) echo "usage: $0 build|start|stop|status|env" >&2; exit 64 ;;
esac
