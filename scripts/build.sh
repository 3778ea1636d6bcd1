#!/usr/bin/env bash
# build.sh [PRESET] — configures with the CMake preset (default: "default"; "ci" makes
# warnings errors) and builds everything into ./build with one job per core.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
preset=${1:-default}
# ccache (when installed; CMakeLists.txt uses it) keeps its files where CI keeps its other
# caches, so that a later run on the same machine compiles only what changed.
if [ -z "${CCACHE_DIR:-}" ] && [ -w /var/cache ]; then
  export CCACHE_DIR=/var/cache/gatebox-ccache
fi
# Configuring again is cheap and picks up a changed preset (default <-> ci) in the same dir.
cmake --preset "$preset" >/dev/null
cmake --build build -j"$(nproc)"
