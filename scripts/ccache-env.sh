# shellcheck shell=bash
# Sourced by scripts/build.sh and scripts/fuzz.sh: where ccache (when installed; CMakeLists.txt
# uses it) keeps its files, and how it hashes. In /var/cache, where CI keeps its other caches,
# so that a later run on the same machine compiles only what changed; paths relative to the
# checkout and the build dir left out of the hash, so that a clone elsewhere (CI clones
# afresh) finds the objects of the last one.
if [ -z "${CCACHE_DIR:-}" ] && [ -w /var/cache ]; then
  export CCACHE_DIR=/var/cache/gatebox-ccache
fi
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-true}
