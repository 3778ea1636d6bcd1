#!/usr/bin/env bash
# The kubernetes stack's image push against a real registry (Debian's docker-registry, run
# here on a private port with its own storage; its system service is never touched): the
# busybox rootfs is pushed twice, and the second push must send nothing.
# Usage: kube-registry.sh GATEBOX_UNIT_BINARY [ROOTFS_IMAGE]   (exit 77 = skipped)
set -euo pipefail

unit=${1:?usage: kube-registry.sh GATEBOX_UNIT_BINARY [ROOTFS_IMAGE]}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
image=${2:-$here/../../rootfs/build/busybox.tar.zst}
port=${GATEBOX_TEST_REGISTRY_PORT:-5077}

command -v docker-registry >/dev/null || { echo "SKIP: docker-registry is not installed (apt-get install docker-registry)"; exit 77; }
command -v zstd >/dev/null || { echo "SKIP: zstd is not installed"; exit 77; }
[ -f "$image" ] || { echo "SKIP: no rootfs image at $image (make rootfs)"; exit 77; }
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "SKIP: something already listens on 127.0.0.1:$port (set GATEBOX_TEST_REGISTRY_PORT)"
  exit 77
fi

work=$(mktemp -d /tmp/gatebox-kube-registry.XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/storage" "$work/rootfs"
cat >"$work/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $work/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
YAML
docker-registry serve "$work/config.yml" >"$work/registry.log" 2>&1 &
pid=$!
for _ in $(seq 1 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/registry.log" >&2; echo "FAIL: docker-registry did not start" >&2; exit 1; }
  sleep 0.1
done

zstd -dc "$image" | tar -x -C "$work/rootfs"

GATEBOX_KUBE_REGISTRY="http://127.0.0.1:$port/gatebox/rootfs" GATEBOX_KUBE_ROOTFS="$work/rootfs" \
  "$unit" -ts=kube::registry -tc='push to a registry*'
