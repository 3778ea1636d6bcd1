#!/usr/bin/env bash
# The profile schema that was built (every key `gatebox validate --print` shows) is the one
# documented: each key has its entry in gatebox.toml(5) under its table and a row in the
# README, and the --set keys the bash, zsh and fish completions offer are exactly these.
# The example profiles in gatebox.toml(5) and the README are valid.
. "$(dirname "$0")/lib.sh"

need_gatebox

# A profile that uses every table, so that --print shows every key.
cat >"$T/all.toml" <<'TOML'
name = "all-keys"
[rootfs]
image = "image.tar"
[run]
argv = ["/bin/true"]
[[mount]]
source = "."
target = "/src"
TOML
"$GATEBOX" validate --print "$T/all.toml" >"$T/print.toml"
# rootfs.dir excludes rootfs.image (and sha256), so it needs a profile of its own.
sed 's/^image = "image.tar"$/dir = "tree"/' "$T/all.toml" >"$T/dir.toml"
"$GATEBOX" validate --print "$T/dir.toml" >"$T/print-dir.toml"

# Without groff the man page's entries cannot be read; the README and completion checks
# still run, and the case ends skipped (a failure where stacks are required) only if they pass.
if have_groff; then render_man "$SRC/man/gatebox.toml.5" >"$T/page"; else : >"$T/page"; fi
bash --norc --noprofile -c '. "$1"; printf "%s\n" $_gatebox_keys' _ "$SRC/completions/gatebox.bash" >"$T/keys.bash"
zsh_keys=$(sed -n '/^local -a _gatebox_keys=(/,/^)/p' "$SRC/completions/_gatebox" | sed '1d;$d')
printf '%s\n' $zsh_keys >"$T/keys.zsh"
if command -v fish >/dev/null; then
  fish --no-config -c "source '$SRC/completions/gatebox.fish'; __gatebox_keys" | sed 's/=$//' >"$T/keys.fish"
else
  # Without fish, read the list from the file: the key-like words of __gatebox_keys.
  sed -n '/^function __gatebox_keys/,/^end/p' "$SRC/completions/gatebox.fish" | tr -s ' \\' '\n\n' |
    grep -E '^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$' | grep -vx -e printf -e end -e function >"$T/keys.fish" || true
fi

python3 - "$T/print.toml" "$T/print-dir.toml" "$T/page" "$SRC/README.md" "$T/keys.bash" "$T/keys.zsh" "$T/keys.fish" <<'PY' || FAILURES=$((FAILURES + 1))
import re
import sys
import tomllib

printed = tomllib.load(open(sys.argv[1], "rb"))
printed["rootfs"].update(tomllib.load(open(sys.argv[2], "rb"))["rootfs"])
page = open(sys.argv[3]).read().splitlines()
readme = open(sys.argv[4]).read()
problems = []

# (table, key): table "" for top level, "mount" for [[mount]].
keys = []
def walk(table, prefix):
    for k, v in table.items():
        if isinstance(v, dict) and k != "env":   # run.env is one key whose value is a table
            walk(v, f"{prefix}{k}.")
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            for kk in v[0]:
                keys.append((k, kk))
        else:
            keys.append((prefix[:-1], k))
walk(printed, "")

def entries(title):
    """Tags (first words of lines at column 7) of a section (.SH) or subsection (.SS) of gatebox.toml.5."""
    tags, inside = [], False
    for line in page:
        indent = len(line) - len(line.lstrip(" "))
        heading = line.strip() and indent <= 3
        if heading:
            if inside:
                break
            inside = line.strip() == title
            continue
        if inside and indent == 7 and line.strip():
            tags.append(line.split()[0])
    return tags

# The README's tables: a row is "| `key` | default | meaning |", several keys may share a
# row ("| `a`, `b` | …"), a mark may follow them ("| `a` † |"); a [stack] sub-table's keys
# are rows of [stack] ("`docker.host`").
row_keys = set()
for line in readme.splitlines():
    m = re.match(r"^\| ((?:`[^`]+`(?:, )?)+)[^|`]*\|", line)  # a mark may follow: `key` †
    if m:
        row_keys.update(re.findall(r"`([^`]+)`", m.group(1)))

for table, key in keys:
    title = {"": "TOP-LEVEL KEYS", "mount": "[[mount]]"}.get(table, f"[{table}]")
    if page and key not in entries(title):
        problems.append(f"gatebox.toml.5: '{title}' has no entry for '{key}'")
    row = f"{table[len('stack.'):]}.{key}" if table.startswith("stack.") else key
    if row not in row_keys:
        problems.append(f"README.md: no table row for `{row}` of {title}")

settable = {f"{t}.{k}" if t else k for t, k in keys if t != "mount"}
for shell, path in (("bash", sys.argv[5]), ("zsh", sys.argv[6]), ("fish", sys.argv[7])):
    offered = {w.strip() for w in open(path) if w.strip()}
    for k in sorted(settable - offered):
        problems.append(f"the {shell} completion does not offer --set {k}")
    for k in sorted(offered - settable):
        problems.append(f"the {shell} completion offers --set {k}, which is not a profile key")

for p in problems:
    print("FAIL: " + p)
sys.exit(1 if problems else 0)
PY

# Example profiles: the .EX blocks of gatebox.toml.5 that start with a name, and the
# ```toml blocks of the README.
n=0
awk -v dir="$T" '
  /^\.EX/ { inside = 1; n++; file = dir "/man-example-" n ".toml"; next }
  /^\.EE/ { inside = 0; next }
  inside  { print > file }' "$SRC/man/gatebox.toml.5"
awk -v dir="$T" '
  /^```toml/ { inside = 1; n++; file = dir "/readme-example-" n ".toml"; next }
  /^```/     { inside = 0; next }
  inside     { print > file }' "$SRC/README.md"
for example in "$T"/man-example-*.toml "$T"/readme-example-*.toml; do
  [ -e "$example" ] || continue
  grep -q '^name = ' "$example" || continue
  # groff escapes back to plain text
  sed -i -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" -e 's/\\(dq/"/g' -e 's/\\e/\\/g' "$example"
  n=$((n + 1))
  if ! "$GATEBOX" validate "$example" >"$T/out" 2>&1; then
    fail "an example profile is invalid: $(cat "$T/out")"
    sed 's/^/    /' "$example"
  fi
done
[ "$n" -ge 3 ] || fail "expected at least 3 example profiles (2 in gatebox.toml.5, 1 in README.md), found $n"
if ! have_groff && [ "$FAILURES" -eq 0 ]; then
  skip "README and completions checked; gatebox.toml(5) not: groff is not installed (apt-get install groff-base bsdextrautils)"
fi
finish
