# shellcheck shell=bash
# Helpers for tests/docs/*.sh. Environment (set by CTest, see CMakeLists.txt; both have
# defaults so a script also runs by hand from the repository):
#   GATEBOX             the binary under test (default: build/gatebox)
#   GATEBOX_SOURCE_DIR  the repository (default: two folders up from here)
set -euo pipefail

DOCS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=${GATEBOX_SOURCE_DIR:-$(cd "$DOCS_DIR/../.." && pwd)}
GATEBOX=${GATEBOX:-$SRC/build/gatebox}
FAILURES=0

. "$DOCS_DIR/../e2e/required.sh"
# A missing tool is a failure wherever the suite has required stacks (make test, CI).
skip() {
  skip_or_fail "docs" any "$@"
}

# Records a failure and goes on, so one run shows every problem.
fail() {
  echo "FAIL: $*"
  FAILURES=$((FAILURES + 1))
}

finish() {
  if [ "$FAILURES" -ne 0 ]; then
    echo "$FAILURES problem(s)"
    exit 1
  fi
  echo "ok"
}

# A man page as plain text, 200 columns wide, rendered by groff itself (groff-base): the
# checks that read a page do not need man(1), only man_render.sh tests man.
have_groff() { command -v groff >/dev/null && command -v col >/dev/null; }
render_man() {
  groff -t -man -Tutf8 -rLL=200n -rLT=200n -P-cbou "$1" 2>/dev/null | col -bx
}

need_gatebox() {
  [ -x "$GATEBOX" ] || { echo "FAIL: $GATEBOX is missing (build the gatebox target)"; exit 1; }
}

T=$(mktemp -d "${TMPDIR:-/tmp}/gatebox-docs.XXXXXX")
trap 'rm -rf "$T"' EXIT
