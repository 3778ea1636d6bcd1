#!/usr/bin/env bash
# sanitize.sh [CTEST ARGS...] — builds the ASan+UBSan preset "sanitize" (into
# ./build-sanitize) and runs the unit tests and the native end-to-end suite with it; the
# e2e cases get the sanitized gatebox through CTest's environment. Any sanitizer report
# fails the test that triggered it.
#
# ASan's quarantine keeps freed memory (256 MiB by default) to catch use-after-free; the
# e2e cases that bound gatebox's own RSS (output-line: a 1 GiB line must not be buffered)
# would measure the quarantine, so the preset caps it at 16 MiB.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cmake --preset sanitize >/dev/null
cmake --build --preset sanitize -j"$(nproc)"
# The test preset sets ASAN_OPTIONS/LSAN_OPTIONS/UBSAN_OPTIONS for every test (and so for
# the gatebox each e2e case starts): see its "environment" in CMakePresets.json.
ctest --preset sanitize -L "unit|native" "$@"
