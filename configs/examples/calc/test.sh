#!/bin/sh
# The calculator's unit tests: one line per test, a summary, exit 1 on any failure.
cd "$(dirname "$0")"
passed=0 failed=0
check() {
  expected=$1; shift
  got=$(sh ./calc.sh "$@" 2>&1)
  if [ "$got" = "$expected" ]; then
    passed=$((passed + 1)); echo "ok   $* = $got"
  else
    failed=$((failed + 1)); echo "FAIL $*: expected $expected, got $got"
  fi
}
check 5 2 + 3
check -1 2 - 3
check 42 6 x 7
check 3 10 / 3
check "division by zero" 1 / 0
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
