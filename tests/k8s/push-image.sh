#!/usr/bin/env bash
# tests/k8s/push-image.sh ROOTFS.tar[.zst|.gz] REGISTRY/NAME:TAG [CMD...]
# Pushes a one-layer OCI image made from a root filesystem tarball to a registry over plain
# HTTP with the OCI distribution API (no docker, no skopeo), e.g.
#   tests/k8s/push-image.sh rootfs/build/busybox.tar.zst 10.217.0.2:5000/gates/busybox:1 /bin/sh
# Prints the manifest digest (NAME@sha256:...). Needs curl, gzip, sha256sum, zstd for .zst.
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: $0 ROOTFS.tar[.zst|.gz] REGISTRY/NAME:TAG [CMD...]" >&2; exit 64; }
src=$1 ref=$2
shift 2
host=${ref%%/*}
rest=${ref#*/}
name=${rest%:*}
tag=${rest##*:}
[ "$name" != "$rest" ] || { echo "push-image: $ref has no :TAG" >&2; exit 64; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

case $src in
  *.zst) zstd -dcq "$src" >"$work/layer.tar" ;;
  *.gz) gzip -dc "$src" >"$work/layer.tar" ;;
  *) cp "$src" "$work/layer.tar" ;;
esac
diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
gzip -1n <"$work/layer.tar" >"$work/layer.tar.gz"

cmd_json=
if [ $# -gt 0 ]; then
  cmd_json=',"Cmd":['
  for a in "$@"; do cmd_json+="\"${a//\"/\\\"}\","; done
  cmd_json="${cmd_json%,}]"
fi
printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]%s},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
  "$cmd_json" "$diff_id" >"$work/config.json"

push_blob() { # push_blob FILE -> prints "sha256:<hex> <size>"
  local digest size loc
  digest=sha256:$(sha256sum "$1" | cut -d' ' -f1)
  size=$(stat -c %s "$1")
  if ! curl -fsS --noproxy "*" -o /dev/null --head "http://$host/v2/$name/blobs/$digest" 2>/dev/null; then
    loc=$(curl -fsS --noproxy "*" -X POST -D - -o /dev/null "http://$host/v2/$name/blobs/uploads/" |
      tr -d '\r' | awk 'tolower($1) == "location:" {print $2}')
    [ -n "$loc" ] || { echo "push-image: no upload location from $host" >&2; exit 1; }
    case $loc in http*) ;; *) loc="http://$host$loc" ;; esac
    case $loc in *\?*) loc+="&digest=$digest" ;; *) loc+="?digest=$digest" ;; esac
    curl -fsS --noproxy "*" -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$1" "$loc" >/dev/null
  fi
  echo "$digest $size"
}

read -r layer_digest layer_size < <(push_blob "$work/layer.tar.gz")
read -r config_digest config_size < <(push_blob "$work/config.json")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}]}' \
  "$config_digest" "$config_size" "$layer_digest" "$layer_size" >"$work/manifest.json"
curl -fsS --noproxy "*" -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
  --data-binary "@$work/manifest.json" "http://$host/v2/$name/manifests/$tag" >/dev/null
echo "$host/$name@sha256:$(sha256sum "$work/manifest.json" | cut -d' ' -f1)"
