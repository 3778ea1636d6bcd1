#!/usr/bin/env bash
# timeout: 300
# The Python corpus gate: pytest with threads, a multiprocessing.Pool, a subprocess and an
# HTTP server on localhost.
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/corpus.sh"
corpus_case python "4 passed" "1 failed, 3 passed"
