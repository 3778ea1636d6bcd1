#!/usr/bin/env bash
# timeout: 300
# The C corpus gate: make builds a library and its test program (libc, libm) into /tmp and
# runs it from there, then builds and runs a copy of the source in place.
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/corpus.sh"
corpus_case c "c-gate: passed" "FAILED stddev"
