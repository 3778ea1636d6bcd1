#!/usr/bin/env bash
# sanitize.sh [CTEST ARGS...] — builds the ASan+UBSan preset "sanitize" (into
# ./build-sanitize) and runs the unit tests and the native end-to-end suite with it; the
# e2e cases get the sanitized gatebox through CTest's environment. Any sanitizer report
# fails the test that triggered it.
# The sanitizers' options (scripts/sanitizer-env.sh) reach every test and the gatebox each
# e2e case starts. CI does not need this script: its "ci" build is sanitized already.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cmake --preset sanitize >/dev/null
cmake --build --preset sanitize -j"$(nproc)"
. scripts/sanitizer-env.sh
ctest --preset sanitize -L "unit|native" "$@"
