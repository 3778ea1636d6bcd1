#!/usr/bin/env bash
# The man pages render with man(1) and groff's warnings on, without a single warning, at
# the width of a terminal and of a wide window, in a UTF-8 and in the C locale.
. "$(dirname "$0")/lib.sh"

command -v man >/dev/null || skip "man is not installed (apt-get install man-db groff-base)"

for page in "$SRC/man/gatebox.1" "$SRC/man/gatebox.toml.5"; do
  [ -f "$page" ] || { fail "$page is missing"; continue; }
  for locale in C.UTF-8 C; do
    for width in 80 120; do
      if ! LC_ALL=$locale MANWIDTH=$width man --warnings -l "$page" >"$T/out" 2>"$T/err"; then
        fail "man -l $page failed (LC_ALL=$locale MANWIDTH=$width): $(cat "$T/err")"
        continue
      fi
      if [ -s "$T/err" ]; then
        fail "$(basename "$page") (LC_ALL=$locale MANWIDTH=$width) renders with warnings:"
        sed 's/^/    /' "$T/err"
      fi
      grep -q '^NAME' "$T/out" || fail "$(basename "$page") (LC_ALL=$locale MANWIDTH=$width) has no NAME section"
    done
  done
done
finish
