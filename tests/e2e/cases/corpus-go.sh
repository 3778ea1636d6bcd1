#!/usr/bin/env bash
# timeout: 450
# The Go corpus gate: go test (goroutines, a listener on localhost), with GOCACHE and
# GOPATH under /tmp.
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/corpus.sh"
corpus_case go "--- PASS: TestLocalhostEcho" "--- FAIL: TestSumSquares"
