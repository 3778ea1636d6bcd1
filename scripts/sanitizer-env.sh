# shellcheck shell=bash
# Sourced by scripts/test.sh (CI: the "ci" build is sanitized) and scripts/sanitize.sh: how
# ASan, LSan and UBSan behave in every test and in each gatebox a test starts.
#   quarantine_size_mb=16  ASan keeps freed memory (256 MiB by default) to catch use after
#                          free; the cases that bound gatebox's own RSS (output-line: a 1 GiB
#                          line must not be buffered) would measure the quarantine.
#   suppressions           tests/lsan.supp (a leak inside libarchive's error path)
#   halt_on_error          any undefined behaviour fails the test that triggered it
_gatebox_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export ASAN_OPTIONS=quarantine_size_mb=16:detect_leaks=1:abort_on_error=0
export LSAN_OPTIONS=suppressions=$_gatebox_root/tests/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
unset _gatebox_root
