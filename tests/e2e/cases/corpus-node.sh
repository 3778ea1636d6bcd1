#!/usr/bin/env bash
# timeout: 300
# The Node corpus gate: node --test with worker_threads and child_process.
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/corpus.sh"
corpus_case node "# pass 2" "# fail 1"
