#!/usr/bin/env python3
"""check-deps.py [BUILD_DIR] — every file the build found and every tool the scripts call
comes from a package that scripts/deps.txt installs.

A fresh Debian 12 machine has only its base system (Essential and Priority: required
packages) plus what a user needs to get the source (git, make, sudo); everything else
must come from scripts/deps.txt, or from a package that one of its packages depends on
(apt installs those with it). A green CI on a machine that happened to have a package
hides a missing entry; this check does not depend on what the machine happens to have.

Checked:
  - every file path CMake recorded in BUILD_DIR/CMakeCache.txt (compilers, libraries,
    static archives, tools found with find_program/find_library);
  - every shared library the built executables load (ldd);
  - every word in the project's scripts that names a program on PATH (command -v): the
    scripts, services, tests, benchmarks, Makefile and CI entry point. A word that is a
    program of a package outside the set is a missing dependency, unless IGNORED says
    why it is not one.

Exit 0 when all is covered, 1 with one line per missing file or tool naming the package to
add, 2 when the check itself cannot run. Runs in a few seconds, offline (dpkg only).
"""
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# What a user installs to get and start the source (README: the two commands).
USER_PACKAGES = {"git", "make", "sudo"}

# Words that name a program on a development machine but are not a program the scripts
# run: a word in prose, a profile key, a name inside a string that is not executed.
IGNORED = {
    "gatebox": "the program under test, built by the project",
    "gatebox-probe": "built by the project",
    "gatebox_unit": "built by the project",
    "gatebox-agent": "built by the project",
    "file": "a variable of awk programs and a TOML key; no script runs file(1)",
    "kubectl": "only for a cluster of the user's own (KUBECONFIG); the test cluster is asked with curl",
}

# CMake's CTest module records optional tools nobody here runs (memcheck, coverage).
CMAKE_KEYS_IGNORED = {"MEMORYCHECK_COMMAND", "COVERAGE_COMMAND", "COVERAGE_EXTRA_FLAGS",
                      "MEMORYCHECK_SUPPRESSIONS_FILE"}

SCRIPT_GLOBS = ("scripts", "tests", "bench", "rootfs", ".ci")
SCRIPT_SUFFIXES = (".sh", ".py", ".zsh", ".fish")


def run(argv, check=True):
    return subprocess.run(argv, check=check, capture_output=True, text=True)


def listed_packages():
    names = set()
    with open(os.path.join(ROOT, "scripts", "deps.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                names.add(line)
    return names


def installed_status():
    """Package -> (essential, priority, [dependency alternatives]), and virtual -> providers."""
    out = run(["dpkg-query", "-W", "-f",
               "${db:Status-Status}\t${Package}\t${Essential}\t${Priority}\t"
               "${Pre-Depends}\t${Depends}\t${Provides}\n"]).stdout
    pkgs, providers = {}, {}
    for line in out.splitlines():
        status, name, essential, priority, pre, dep, provides = (line.split("\t") + [""] * 7)[:7]
        if status != "installed":
            continue
        alternatives = []
        for field in (pre, dep):
            for clause in filter(None, (c.strip() for c in field.split(","))):
                alternatives.append([re.split(r"[\s:(]", a.strip(), maxsplit=1)[0]
                                     for a in clause.split("|")])
        pkgs[name] = (essential == "yes", priority, alternatives)
        for p in filter(None, (p.strip() for p in provides.split(","))):
            providers.setdefault(re.split(r"[\s:(]", p, maxsplit=1)[0], set()).add(name)
    return pkgs, providers


def closure(roots, pkgs, providers):
    """Every installed package that installing ROOTS brings in (all installed alternatives)."""
    seen, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        candidates = {name} | providers.get(name, set())
        for c in candidates:
            if c in seen or c not in pkgs:
                continue
            seen.add(c)
            for alts in pkgs[c][2]:
                todo.extend(alts)
    return seen


def owners(paths):
    """Path -> owning package, asking dpkg once for all (with /usr-merge aliases)."""
    result = {}
    queries = {}
    for p in paths:
        for alias in {p, os.path.realpath(p)}:
            queries.setdefault(alias, set()).add(p)
            if alias.startswith("/usr/"):
                queries.setdefault(alias[4:], set()).add(p)
            elif alias.startswith(("/bin/", "/sbin/", "/lib/", "/lib64/")):
                queries.setdefault("/usr" + alias, set()).add(p)
    if not queries:
        return result
    out = run(["dpkg-query", "-S"] + sorted(queries), check=False).stdout
    for line in out.splitlines():
        if ": " not in line:
            continue
        pkgs, path = line.split(": ", 1)
        if path not in queries or pkgs.startswith("diversion by"):
            continue
        for original in queries[path]:
            for pkg in pkgs.split(", "):
                result.setdefault(original, set()).add(pkg.split(":")[0])
    return result


def cmake_files(build):
    cache = os.path.join(build, "CMakeCache.txt")
    if not os.path.exists(cache):
        return []
    files = []
    with open(cache, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^([A-Za-z0-9_.+-]+):(FILEPATH|STRING|INTERNAL)=(/.+)$", line.strip())
            if not m or m.group(1) in CMAKE_KEYS_IGNORED:
                continue
            for value in m.group(3).split(";"):
                if (value.startswith("/") and os.path.isfile(value)
                        and not value.startswith((ROOT, build, "/tmp/", "/var/cache/"))):
                    files.append(value)
    return files


def linked_libraries(build):
    libs = []
    for exe in ("gatebox", "gatebox-probe", "tests/gatebox_unit", "src/guest/gatebox-agent"):
        path = os.path.join(build, exe)
        if not os.path.isfile(path):
            continue
        out = run(["ldd", path], check=False).stdout
        for m in re.finditer(r"=>\s+(/\S+)", out):
            libs.append(m.group(1))
    return libs


def script_files():
    files = [os.path.join(ROOT, "Makefile")]
    for top in SCRIPT_GLOBS:
        for base, dirs, names in os.walk(os.path.join(ROOT, top)):
            dirs[:] = [d for d in dirs if d not in ("corpus", "__pycache__")]
            for n in names:
                path = os.path.join(base, n)
                if path == os.path.abspath(__file__):
                    continue  # its own text names programs as examples
                if n.endswith(SCRIPT_SUFFIXES) or (top == ".ci" and os.path.isfile(path)):
                    files.append(path)
    return files


# Shell: the word in command position of each simple command (line start, after | && || ;
# $( ( ` { and the keywords that start a command), and the words after a command that runs
# another (timeout 5 curl, nice -n 19 make, nsenter --net=X -- ip, command -v jq).
SEPARATORS = re.compile(r"\|\||&&|[|;&`{}]|\$\(|\(|\)")
KEYWORDS = {"then", "do", "else", "elif", "if", "while", "until", "!", "time", "exec"}
WRAPPERS = {"timeout", "nice", "env", "xargs", "setsid", "nsenter", "unshare", "sudo", "command",
            "stdbuf", "ionice", "setpriv", "chroot", "in_ns", "watch", "taskset", "flock", "runuser"}
NAME = re.compile(r"^[a-z][a-z0-9_+.-]*[a-z0-9]$")
# Python: a string literal's first word (subprocess argument lists, shell lines).
PY_WORD = re.compile(r"""(?<![\w])[bfr]?["']([a-z][a-z0-9_+-]*[a-z0-9])(?=[ "'])""")


# Absolute paths of programs, as scripts name them (/usr/bin/time, /usr/lib/cni/bridge).
PROGRAM_PATH = re.compile(r"(?<![\w.$/-])(/(?:usr/)?s?bin/[a-z0-9][a-z0-9._+-]*|/usr/lib/cni/[a-z0-9_-]+)(?![\w/.-])")


def shell_commands(line):
    code = re.sub(r"(^|\s)#.*$", "", line)
    words = []
    for segment in SEPARATORS.split(code):
        tokens = segment.split()
        while tokens and (tokens[0] in KEYWORDS or re.match(r"^\w+=", tokens[0])):
            tokens.pop(0)
        if not tokens:
            continue
        words.append(tokens[0])
        if tokens[0] in WRAPPERS:
            words.extend(t for t in tokens[1:] if NAME.match(t))
    return [w for w in words if NAME.match(w)]


def script_tools():
    """Program name -> first file:line that names it."""
    found = {}
    heredoc = re.compile(r"<<-?\s*['\"]?([A-Za-z_][A-Za-z0-9_]*)['\"]?")
    for path in script_files():
        with open(path, encoding="utf-8", errors="replace") as f:
            until = None
            for n, line in enumerate(f, 1):
                # A here-document's body is data (profiles, JSON, C) as a rule: skipped.
                if until is not None:
                    if line.strip() == until:
                        until = None
                    continue
                if not path.endswith(".py"):
                    m = heredoc.search(line.split("#", 1)[0])
                    until = m.group(1) if m else None
                if path.endswith(".py"):
                    words = PY_WORD.findall(line)
                else:
                    words = shell_commands(line)
                for word in words + PROGRAM_PATH.findall(line):
                    found.setdefault(word, f"{os.path.relpath(path, ROOT)}:{n}")
    tools = {}
    search = "/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/sbin:/usr/local/bin"
    for word, where in found.items():
        if word in IGNORED:
            continue
        path = (word if word.startswith("/") and os.path.isfile(word)
                else None if word.startswith("/") else shutil.which(word, path=search))
        if path:
            tools[word] = (path, where)
    return tools


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
    if not shutil.which("dpkg-query"):
        print("check-deps: dpkg-query is missing: this check runs on Debian only", file=sys.stderr)
        return 2
    pkgs, providers = installed_status()
    base = {n for n, (ess, prio, _) in pkgs.items() if ess or prio == "required"}
    listed = listed_packages()
    unknown = sorted(p for p in listed if p not in pkgs and p not in providers)
    if unknown:
        print(f"check-deps: not installed, though scripts/deps.txt lists them: {' '.join(unknown)}"
              " (run scripts/install-deps.sh)", file=sys.stderr)
        return 1
    covered = closure(base | USER_PACKAGES | listed, pkgs, providers)

    files = {p: ("the build", "CMakeCache.txt") for p in cmake_files(build)}
    files.update({p: ("the build", "ldd") for p in linked_libraries(build)})
    tools = script_tools()
    for word, (path, where) in tools.items():
        files.setdefault(path, ("a script", f"'{word}' at {where}"))
    owner = owners(files)

    missing = []
    for path, (kind, where) in sorted(files.items()):
        if path.startswith("/usr/local/") or path.startswith(os.path.expanduser("~")):
            # Not from a package at all: a fresh machine does not have it.
            if kind == "a script":
                missing.append(f"{path} ({where}) is not from a Debian package; a fresh machine lacks it")
            continue
        pkg = owner.get(path)
        if not pkg:
            if kind == "the build":
                missing.append(f"{path} ({where}) belongs to no package")
            continue
        if not pkg & covered:
            missing.append(f"{path} ({kind}: {where}) comes from {'/'.join(sorted(pkg))}: "
                           f"add it to scripts/deps.txt")
    checked_tools = len(tools)
    print(f"check-deps: {len(files) - checked_tools} build files and {checked_tools} tools checked "
          f"against {len(listed)} listed packages ({len(covered)} with their dependencies)")
    for m in missing:
        print(f"check-deps: missing: {m}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
