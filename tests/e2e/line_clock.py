#!/usr/bin/env python3
"""line_clock.py CLOCK_FILE PATTERN -- COMMAND...: runs COMMAND, passes its stdout through
line by line as it comes, and writes to CLOCK_FILE the milliseconds from the first line
that contains PATTERN to COMMAND's exit ("none" if no line matched). Exits with COMMAND's
status (128+N for a signal). A wall clock outside gatebox, for the cases that check that
a gate does not outlive its timeout (tests/e2e/lib.sh: expect_line_to_exit_within)."""
import os
import subprocess
import sys
import time


def main():
    clock_file, pattern = sys.argv[1], sys.argv[2].encode()
    argv = sys.argv[sys.argv.index("--") + 1:]
    child = subprocess.Popen(argv, stdout=subprocess.PIPE)
    seen = None
    out = sys.stdout.buffer
    for line in iter(child.stdout.readline, b""):
        if seen is None and pattern in line:
            seen = time.monotonic()
        out.write(line)
        out.flush()
    status = child.wait()
    ended = time.monotonic()
    with open(clock_file, "w") as f:
        f.write("none\n" if seen is None else "%d\n" % ((ended - seen) * 1000))
    return status if status >= 0 else 128 - status


if __name__ == "__main__":
    sys.exit(main())
