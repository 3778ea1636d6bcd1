#!/bin/sh
# The Python gate: pytest from a read-only source tree (no cache, no bytecode written there).
set -eu
cd /tmp
exec python3 -B -m pytest -q -p no:cacheprovider "$(dirname "$0")"
