#!/usr/bin/env bash
# gatebox(1) documents the command line that was built: every command of `gatebox --help`
# in SYNOPSIS and COMMANDS, every option of `gatebox --help` under "Options of every
# command" and every option of `gatebox help COMMAND` under "Options of COMMAND" (short
# and long spelling together, as "-s, --stack"), with each of its fixed values; and every
# stack `gatebox stacks` knows.
. "$(dirname "$0")/lib.sh"

have_groff || skip "groff is not installed (apt-get install groff-base bsdextrautils)"
need_gatebox

python3 "$DOCS_DIR/cli_help.py" "$GATEBOX" >"$T/cli"
"$GATEBOX" stacks --json >"$T/stacks.json"
# Wide, so that an option and its value stay on one line.
render_man "$SRC/man/gatebox.1" >"$T/page"

python3 - "$T/cli" "$T/page" "$T/stacks.json" <<'PY' || FAILURES=$((FAILURES + 1))
import json
import re
import sys

cli = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
page = open(sys.argv[2]).read().splitlines()
data = json.load(open(sys.argv[3]))
stacks = [s["name"] for s in (data["stacks"] if isinstance(data, dict) else data)]
problems = []


def flat(lines):
    return " " + re.sub(r"\s+", " ", " ".join(lines)) + " "


def section(title, level):
    """The text of a section (level 0: .SH, at column 0) or subsection (level 3: .SS)."""
    out, inside = [], False
    for line in page:
        indent = len(line) - len(line.lstrip(" "))
        heading = line.strip() and indent <= 3 and not line.startswith("       ")
        if heading and inside and indent <= level:
            break
        if heading and indent == level and line.strip() == title:
            inside = True
            continue
        if inside:
            out.append(line)
    if not out:
        problems.append(f"gatebox.1 has no {'section' if level == 0 else 'subsection'} '{title}'")
    return flat(out)


def has(text, word):
    return re.search(r"(?<![\w-])" + re.escape(word) + r"(?![\w-])", text) is not None


synopsis, commands = section("SYNOPSIS", 0), section("COMMANDS", 0)
global_longs = {c[3] for c in cli if c[0] == "option" and c[1] == "-"}
for kind, *rest in cli:
    if kind == "command":
        name = rest[0]
        if f" gatebox {name}" not in synopsis:
            problems.append(f"SYNOPSIS lacks 'gatebox {name}'")
        if not has(commands, name):
            problems.append(f"COMMANDS lacks '{name}'")
    elif kind == "option":
        command, short, long, values = rest
        if command != "-" and long in global_longs:
            continue  # documented once, under "Options of every command"
        title = "Options of every command" if command == "-" else f"Options of {command}"
        text = section(title, 3)
        spelled = f"{short}, {long}" if short else long
        if not has(text, spelled):
            problems.append(f"'{title}' lacks '{spelled}'")
        for v in filter(None, values.split(",")):
            if not has(text, v):
                problems.append(f"'{title}' lacks the value '{v}' of {long}")
    elif kind == "positional":
        command, name, values = rest
        for v in filter(None, values.split(",")):
            if not has(commands, v):
                problems.append(f"COMMANDS lacks the value '{v}' of {command} {name}")

run_options = section("Options of run", 3)
for s in stacks:
    if not has(run_options, s):
        problems.append(f"'Options of run' (--stack) lacks the stack '{s}'")

for p in problems:
    print("FAIL: " + p)
sys.exit(1 if problems else 0)
PY
finish
