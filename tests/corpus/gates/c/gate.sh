#!/bin/sh
# The C gate: build out of tree into /tmp and run the test binary from there, then build a
# copy of the source in place and run its tests again.
set -eu
src=$(dirname "$0")
make -C "$src" BUILD=/tmp/build test
cp -r "$src" /tmp/copy
make -C /tmp/copy clean test
echo "c-gate: passed"
