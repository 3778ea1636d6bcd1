#!/usr/bin/env bash
# The kubernetes stack's image push against real registries (Debian's docker-registry, run
# here on private ports with their own storage; its system service is never touched):
# - an open one: the busybox rootfs is pushed twice, and the second push must send nothing;
# - one with HTTP Basic authentication (htpasswd): no credentials, wrong ones and Docker's
#   config.json with the right ones;
# - one with token authentication, its token service being registry_token_server.py (JWTs
#   signed with a key whose certificate the registry trusts): Basic credentials and an
#   identity token to the token service, wrong ones, none.
# Usage: kube-registry.sh GATEBOX_UNIT_BINARY [ROOTFS_IMAGE]   (exit 77 = skipped)
set -euo pipefail

unit=${1:?usage: kube-registry.sh GATEBOX_UNIT_BINARY [ROOTFS_IMAGE]}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
image=${2:-$here/../../rootfs/build/busybox.tar.zst}
port=${GATEBOX_TEST_REGISTRY_PORT:-5077}
. "$here/required.sh"
# A missing prerequisite fails the check where the kubernetes stack is required.
skip() { skip_or_fail kube.registry kubernetes "$@"; }

command -v docker-registry >/dev/null || skip "docker-registry is not installed (apt-get install docker-registry)"
for cmd in zstd openssl python3; do
  command -v "$cmd" >/dev/null || skip "$cmd is not installed"
done
command -v htpasswd >/dev/null || skip "htpasswd is not installed (apt-get install apache2-utils)"
[ -f "$image" ] || skip "no rootfs image at $image (make rootfs)"
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  skip "something already listens on 127.0.0.1:$port (set GATEBOX_TEST_REGISTRY_PORT)"
fi

work=$(mktemp -d /tmp/gatebox-kube-registry.XXXXXX)
pids=()
cleanup() {
  local p
  for p in ${pids[@]+"${pids[@]}"}; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

wait_port() {  # PORT PID LOG
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { cat "$3" >&2; echo "FAIL: nothing listens on 127.0.0.1:$1" >&2; exit 1; }
    sleep 0.1
  done
  echo "FAIL: nothing listens on 127.0.0.1:$1 after 10 s" >&2
  exit 1
}

# start_registry NAME PORT [AUTH YAML...]
start_registry() {
  local name=$1 port=$2
  shift 2
  mkdir -p "$work/$name"
  {
    cat <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $work/$name/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
YAML
    printf '%s\n' "$@"
  } >"$work/$name/config.yml"
  docker-registry serve "$work/$name/config.yml" >"$work/$name/registry.log" 2>&1 &
  pids+=($!)
  wait_port "$port" $! "$work/$name/registry.log"
}

# (Not port + 1: kube-api.sh's registry listens on 5078.)
basic_port=$((port + 10))
token_port=$((port + 11))
token_service_port=$((port + 12))
for p in "$basic_port" "$token_port" "$token_service_port"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "SKIP: something already listens on 127.0.0.1:$p (set GATEBOX_TEST_REGISTRY_PORT)"
    exit 77
  fi
done

start_registry open "$port"

# Basic: docker-registry's htpasswd wants bcrypt (htpasswd -B, from apache2-utils).
htpasswd -nbB -C 5 basic-user basic-pw | sed '/^$/d' >"$work/htpasswd"
start_registry basic "$basic_port" "auth:" "  htpasswd:" "    realm: gatebox-test" "    path: $work/htpasswd"

# Token: a self-signed certificate the registry trusts, and the service that signs with it.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=gatebox-test-token -keyout "$work/token.key" \
  -out "$work/token.crt" >/dev/null 2>&1
python3 "$here/registry_token_server.py" "$token_service_port" "$work/token.key" "$work/token.crt" gatebox-test-issuer \
  gatebox-test-registry token-user token-pw refresh-good 2>"$work/token-service.log" &
pids+=($!)
wait_port "$token_service_port" $! "$work/token-service.log"
start_registry token "$token_port" "auth:" "  token:" "    realm: http://127.0.0.1:$token_service_port/token" \
  "    service: gatebox-test-registry" "    issuer: gatebox-test-issuer" "    rootcertbundle: $work/token.crt"

mkdir -p "$work/rootfs"
zstd -dc "$image" | tar -x -C "$work/rootfs"

# Docker's client config with the Basic registry's credentials, as `docker login` writes it.
mkdir -p "$work/docker"
printf '{"auths": {"127.0.0.1:%s": {"auth": "%s"}}}\n' "$basic_port" "$(printf basic-user:basic-pw | base64)" \
  >"$work/docker/config.json"

rc=0
DOCKER_CONFIG="$work/docker" \
  GATEBOX_KUBE_REGISTRY="http://127.0.0.1:$port/gatebox/rootfs" \
  GATEBOX_KUBE_BASIC_REGISTRY="http://127.0.0.1:$basic_port/gatebox/rootfs" \
  GATEBOX_KUBE_TOKEN_REGISTRY="http://127.0.0.1:$token_port/gatebox/rootfs" \
  GATEBOX_KUBE_ROOTFS="$work/rootfs" \
  "$unit" -ts=kube::registry -tc='push to a registry*' || rc=$?
if [ "$rc" != 0 ]; then
  for f in "$work"/*/registry.log "$work/token-service.log"; do echo "--- $f"; tail -n 20 "$f"; done
  exit "$rc"
fi
# The token service saw Basic credentials and an identity token, never a request that
# carried the registry's own token back to it.
grep -q '^GET auth=Basic' "$work/token-service.log" || { echo "FAIL: no Basic credentials reached the token service"; exit 1; }
grep -q '^POST grant=refresh_token' "$work/token-service.log" || { echo "FAIL: no identity token reached the token service"; exit 1; }
! grep -q 'auth=Bearer' "$work/token-service.log" || { echo "FAIL: a registry token was sent to the token service"; exit 1; }
