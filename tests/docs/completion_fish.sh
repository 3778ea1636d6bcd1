#!/usr/bin/env bash
# The fish completion, sourced into `fish --no-config`, completes (complete -C) the
# commands, every option of every command (from `gatebox help COMMAND`), the fixed values
# of options, the stacks, cache actions, --set keys, *.toml profiles and, after --, the
# gate's own command.
. "$(dirname "$0")/lib.sh"

command -v fish >/dev/null || skip "fish is not installed (apt-get install fish)"
need_gatebox

python3 "$DOCS_DIR/cli_help.py" "$GATEBOX" >"$T/cli"
stacks=$("$GATEBOX" stacks --json | python3 -c 'import json, sys; d = json.load(sys.stdin); print(" ".join(s["name"] for s in (d["stacks"] if isinstance(d, dict) else d)))')
mkdir "$T/work" "$T/work/gates"
touch "$T/work/unit.toml" "$T/work/notes.txt" "$T/work/gates/lint.toml"

# Cases: "LINE|has|WORD...", "LINE|lacks|WORD..." or "LINE|only|WORD...".
{
  echo "gatebox |only|$(awk -F'\t' '$1 == "command" {printf "%s ", $2}' "$T/cli")"
  while IFS='|' read -r kind a b c d; do
    cmd=$a
    [ "$cmd" = - ] && cmd=''
    [ "$cmd" = help ] && continue
    case $kind in
      option)
        echo "gatebox${cmd:+ $cmd} -|has|$b $c"
        [ -n "$d" ] && echo "gatebox${cmd:+ $cmd x.toml} $c |only|${d//,/ }"
        ;;
      positional)
        [ -n "$c" ] && echo "gatebox $a |only|${c//,/ }"
        ;;
    esac
  done < <(tr '\t' '|' <"$T/cli")
  echo "gatebox run x.toml --stack |only|$stacks auto"
  echo "gatebox run x.toml --log-format=p|only|--log-format=plain --log-format=prefixed"
  echo "gatebox run x.toml --set limits.me|only|limits.memory="
  echo "gatebox run |has|unit.toml gates/"
  echo "gatebox run |lacks|notes.txt"
  echo "gatebox run unit.toml -- ech|has|echo"
  echo "gatebox run unit.toml -- ls no|has|notes.txt"
  echo "gatebox help |only|run validate stacks probe bench export cache"
  echo "gatebox export |only|kubernetes seccomp"
  echo "gatebox export kubernetes x.toml --no|only|--no-push"
} >"$T/cases"

# One fish for every case: "=== LINE", then what `complete -C LINE` offers.
cut -d'|' -f1 "$T/cases" | awk '!seen[$0]++' >"$T/lines"
(cd "$T/work" && fish --no-config -c '
  source $argv[1]; or exit 1
  while read -l line
    echo "=== $line"
    complete -C "$line"
  end <$argv[2]' "$SRC/completions/gatebox.fish" "$T/lines") >"$T/out" 2>"$T/err" ||
  fail "fish failed: $(cat "$T/err")"
[ -s "$T/err" ] && fail "fish printed errors: $(cat "$T/err")"

while IFS='|' read -r line mode words; do
  offered=$(awk -v want="=== $line" '$0 == want {on = 1; next} /^=== / {on = 0} on' "$T/out" | cut -f1)
  for w in $words; do
    if grep -qxF -- "$w" <<<"$offered"; then
      [ "$mode" = lacks ] && fail "'$line<TAB>' offers '$w'"
    else
      [ "$mode" = lacks ] || fail "'$line<TAB>' does not offer '$w' (offered: $(echo $offered))"
    fi
  done
  if [ "$mode" = only ] && [ "$(grep -c . <<<"$offered")" != "$(wc -w <<<"$words")" ]; then
    fail "'$line<TAB>' offers $(echo $offered); expected only $words"
  fi
done <"$T/cases"
finish
