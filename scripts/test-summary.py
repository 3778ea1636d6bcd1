#!/usr/bin/env python3
"""test-summary.py JUNIT.xml... — the suite's results per stack, and whether the required
stacks were really tested.

Reads CTest's JUnit files (ctest --output-junit), groups the tests (e2e.<stack>.<case> by
stack; unit.*, docs.*, route.*, evidence.*, kube.*, deps.* by their first word) and prints,
per group, how many ran, passed, failed, were skipped (something missing here) and did not
apply (N/A: the case is not for that stack), then every skip and N/A with its reason.

With GATEBOX_REQUIRED_STACKS (space-separated; scripts/test.sh sets it), exits 1 when a
required stack has a skipped case or ran no case at all: a green run must mean the stack
was tested. The cases already fail on such a skip (tests/e2e/required.sh); this is the
second check, for a stack whose tests never started (a CTest run that broke, a label
that matched nothing).
"""
import collections
import os
import re
import sys
import xml.etree.ElementTree as ET


def group_of(name):
    parts = name.split(".")
    if parts[0] == "e2e" and len(parts) >= 3:
        return parts[1]
    return parts[0]


def reason_of(output, marker):
    for line in output.splitlines():
        if line.startswith(marker):
            return line[len(marker):].strip()
    return ""


def load(paths):
    tests = {}
    for path in paths:
        if not os.path.exists(path):
            continue
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as e:
            print(f"test-summary: {path}: not JUnit XML ({e})", file=sys.stderr)
            continue
        for case in root.iter("testcase"):
            name = case.get("name", "?")
            output = "".join(e.text or "" for e in case.iter("system-out"))
            status = case.get("status", "")
            if case.find("failure") is not None or case.find("error") is not None or status == "fail":
                result = "failed"
            elif case.find("skipped") is not None or status in ("notrun", "disabled"):
                result = "n/a" if "N/A:" in output else "skipped"
            else:
                result = "passed"
            reason = reason_of(output, "N/A:") or reason_of(output, "SKIP:")
            if result == "skipped" and not reason:
                reason = (case.find("skipped").get("message", "") if case.find("skipped") is not None
                          else "") or "no reason printed"
            tests[name] = (result, reason)
    return tests


def main():
    tests = load(sys.argv[1:])
    required = (os.environ.get("GATEBOX_REQUIRED_STACKS") or "").split()
    groups = collections.OrderedDict()
    for name in sorted(tests):
        groups.setdefault(group_of(name), []).append(name)
    for stack in required:
        groups.setdefault(stack, [])

    print()
    print("=== test summary (required stacks: %s)" % (" ".join(required) or "none"))
    print(f"  {'group':<12} {'ran':>5} {'passed':>7} {'failed':>7} {'skipped':>8} {'n/a':>5}")
    problems = []
    for group, names in groups.items():
        counts = collections.Counter(tests[n][0] for n in names)
        ran = counts["passed"] + counts["failed"]
        mark = " (required)" if group in required else ""
        print(f"  {group:<12} {ran:>5} {counts['passed']:>7} {counts['failed']:>7} "
              f"{counts['skipped']:>8} {counts['n/a']:>5}{mark}")
        if group in required:
            if ran == 0:
                problems.append(f"required stack {group}: no case ran")
            for n in names:
                if tests[n][0] == "skipped":
                    problems.append(f"required stack {group}: {n} skipped: {tests[n][1]}")
    # One line per stack and reason: "<case> on <stack>: " is dropped from the reason, so
    # a stack that is missing altogether (33 cases, one reason) takes one line.
    why = collections.OrderedDict()
    for n in sorted(tests):
        result, reason = tests[n]
        if result not in ("skipped", "n/a"):
            continue
        text = re.sub(r"\s+", " ", re.sub(r"^\S+ on \S+: ", "", reason))[:200]
        why.setdefault((group_of(n), result, text), []).append(n.split(".")[-1])
    if why:
        print("  not run, and why:")
        for (group, result, text), cases in why.items():
            which = f"{len(cases)} cases" if len(cases) > 3 else ", ".join(cases)
            print(f"    {group:<12} {result:<8} {which}: {text}")
    for p in problems:
        print(f"test-summary: FAIL: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
