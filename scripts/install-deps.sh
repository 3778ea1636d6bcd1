#!/usr/bin/env bash
# Installs the Debian packages listed in scripts/deps.txt that are not installed yet.
# Asks apt only when something is missing, so a second run is quick and works offline.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
list="$here/deps.txt"

# tests/k8s/cluster.sh fetches Debian's `kubernetes` source package with `apt-get source`,
# which needs a deb-src entry. Ours is a file of its own, so the host's lists stay untouched.
src_list=/etc/apt/sources.list.d/e2e-k8s-src.sources
need_update=false
if ! grep -rqsE '^(Types:.*deb-src|deb-src .*debian.* bookworm .*main)' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps: no deb-src entry for bookworm main; run as root (sudo make deps) to add $src_list" >&2
    exit 1
  fi
  cat >"$src_list" <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  echo "deps: added $src_list (deb-src, for the kubernetes source package)"
  need_update=true
fi

missing=()
while read -r pkg; do
  pkg=${pkg%%#*}
  pkg=${pkg//[[:space:]]/}
  [ -n "$pkg" ] || continue
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$pkg")
done <"$list"

if [ ${#missing[@]} -eq 0 ]; then
  if $need_update; then
    apt-get update -q >/dev/null
  fi
  echo "deps: all $(grep -cEv '^\s*(#|$)' "$list") packages installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages: ${missing[*]}" >&2
  echo "deps: run as root (sudo make deps) to install them" >&2
  exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
