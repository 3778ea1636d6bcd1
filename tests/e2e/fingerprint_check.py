"""fingerprint_check.py README STACK OUTPUT — compares what the fingerprint gate printed
(tests/corpus/gates/fingerprint) on STACK with README.md's table "What a gate sees".

The table's first column names a fingerprint key (`uid`), the second ("every stack") the
value every stack gives, each further column a stack's own value where it differs. A cell
that starts with a backticked value gives that value (`*` in it matches anything, so
`*` alone means "varies"); an empty cell, or one without a leading backticked value, means
the "every stack" value. Exits 1, listing each difference, when the output and the table
disagree: a value the table does not give, a key the table lacks, or a key never printed.
"""
import fnmatch
import re
import sys

HEADING = "### What a gate sees"


def table_rows(readme):
    lines = open(readme, encoding="utf-8").read().split("\n")
    try:
        start = lines.index(HEADING)
    except ValueError:
        sys.exit("fingerprint: README has no heading %r" % HEADING)
    rows = []
    for line in lines[start + 1:]:
        if line.startswith("#"):
            break
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif rows:
            break
    if len(rows) < 3:
        sys.exit("fingerprint: the table under %r is missing" % HEADING)
    return rows[0], rows[2:]  # the header, then the rows after the --- line


def leading_value(cell):
    m = re.match(r"`([^`]*)`", cell)
    return m.group(1) if m else None


def expected_for(readme, stack):
    header, rows = table_rows(readme)
    column = None
    for i, name in enumerate(header[2:], start=2):
        if stack in [n.strip() for n in name.split(",")]:
            column = i
    if column is None:
        sys.exit("fingerprint: the table has no column for the %s stack (header: %s)" % (stack, header))
    expected = {}
    for row in rows:
        key = leading_value(row[0])
        common = leading_value(row[1])
        if key is None or common is None:
            sys.exit("fingerprint: a row without a `key` and an every-stack `value`: %s" % row)
        own = leading_value(row[column]) if column < len(row) else None
        expected[key] = own if own is not None else common
    return expected


def main():
    readme, stack, output = sys.argv[1:4]
    expected = expected_for(readme, stack)
    seen = {}
    for line in open(output, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if ": " in line and not line.startswith("gatebox"):
            key, value = line.split(": ", 1)
            seen[key] = value
    problems = []
    for key, value in seen.items():
        if key not in expected:
            problems.append("%s: %r is not in the table" % (key, value))
        elif not fnmatch.fnmatchcase(value, expected[key]):
            problems.append("%s: the gate saw %r, the table says %r for %s" % (key, value, expected[key], stack))
    for key in expected:
        if key not in seen:
            problems.append("%s: in the table, never printed by the gate" % key)
    for p in problems:
        print("difference: " + p)
    if problems:
        sys.exit(1)
    print("fingerprint: %d items, all as the table says for %s" % (len(seen), stack))


main()
