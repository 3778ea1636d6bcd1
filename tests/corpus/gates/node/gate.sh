#!/bin/sh
# The Node gate: the built-in test runner.
set -eu
cd /tmp
exec node --test "$(dirname "$0")/corpus.test.mjs"
