#!/usr/bin/env python3
"""Reads the command line gatebox was built with from its own help (CLI11's format) and
prints it as tab-separated lines, for the docs tests to compare against:

    command  NAME                                   (each subcommand of `gatebox --help`)
    option   COMMAND  SHORT  LONG  VALUES           (COMMAND "-" = before any command;
                                                     SHORT "" when none; VALUES "a,b,c" for
                                                     an option with a fixed set of values)
    positional  COMMAND  NAME  VALUES               (VALUES as for options)
"""
import re
import subprocess
import sys

OPTION = re.compile(r"^\s{2}(-[^\s]+)(?:\s+(\S+))?")
POSITIONAL = re.compile(r"^\s{2}([A-Z][A-Z_]*)(?:\s+(\S+))?")
CHOICES = re.compile(r":\{([^}]*)\}")


def help_text(gatebox, *args):
    return subprocess.run([gatebox, *args], check=True, capture_output=True, text=True).stdout


def sections(text):
    """{"Options": [lines], "Subcommands": [lines], ...}"""
    out, current = {}, None
    for line in text.splitlines():
        if re.match(r"^[A-Z][A-Za-z]*:$", line):
            current = line[:-1]
            out[current] = []
        elif current and line.strip():
            out[current].append(line)
    return out


def options(lines):
    for line in lines:
        m = OPTION.match(line)
        if not m:
            continue
        names = m.group(1).split(",")
        short = next((n for n in names if not n.startswith("--")), "")
        long = next((n for n in names if n.startswith("--")), "")
        values = ""
        if m.group(2):
            c = CHOICES.search(m.group(2))
            values = c.group(1) if c else ""
        yield short, long, values


def positionals(lines):
    for line in lines:
        m = POSITIONAL.match(line)
        if m:
            c = CHOICES.search(m.group(2) or "")
            yield m.group(1), c.group(1) if c else ""


def main():
    gatebox = sys.argv[1]
    top = sections(help_text(gatebox, "--help"))
    commands = [l.split()[0] for l in top.get("Subcommands", [])]
    if not commands:
        sys.exit("cli_help.py: no subcommands in 'gatebox --help'")
    for c in commands:
        print(f"command\t{c}")
    for short, long, values in options(top.get("Options", [])):
        print(f"option\t-\t{short}\t{long}\t{values}")
    for c in commands:
        parts = sections(help_text(gatebox, "help", c))
        for short, long, values in options(parts.get("Options", [])):
            print(f"option\t{c}\t{short}\t{long}\t{values}")
        for name, values in positionals(parts.get("Positionals", [])):
            print(f"positional\t{c}\t{name}\t{values}")


main()
