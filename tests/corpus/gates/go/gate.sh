#!/bin/sh
# The Go gate: go test with its build cache and GOPATH under /tmp (the source is read-only);
# vet off: the tests are the gate, and vet adds a second analysis pass, long under TCG.
set -eu
export GOCACHE=/tmp/gocache GOPATH=/tmp/gopath GOFLAGS=-mod=mod CGO_ENABLED=0
cd "$(dirname "$0")"
exec go test -count=1 -vet=off -v ./...
