#!/usr/bin/env bash
# build.sh [PRESET] — configures with the CMake preset (default: "default"; "ci" makes
# warnings errors) and builds everything into ./build with one job per core.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
preset=${1:-default}
. scripts/ccache-env.sh
# Configuring again is cheap and picks up a changed preset (default <-> ci) in the same dir.
cmake --preset "$preset" >/dev/null
cmake --build build -j"$(nproc)"
