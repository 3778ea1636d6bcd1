#!/usr/bin/env bash
# The zsh completion parses, registers itself for gatebox through compinit, and, typed into
# an interactive zsh, completes the commands, every option of every command (from
# `gatebox help COMMAND`), the fixed values of options, the stacks, cache actions, --set
# keys and *.toml profiles.
. "$(dirname "$0")/lib.sh"

command -v zsh >/dev/null || skip "zsh is not installed (apt-get install zsh)"
need_gatebox

comp="$SRC/completions/_gatebox"
zsh -n "$comp" || fail "zsh -n $comp: syntax error"
registered=$(zsh -f -c 'fpath=("$1" $fpath); autoload -U compinit; compinit -u -D; print -r -- "$_comps[gatebox]"' _ "$SRC/completions")
[ "$registered" = _gatebox ] || fail "after compinit, gatebox is completed by '$registered', not _gatebox"

python3 "$DOCS_DIR/cli_help.py" "$GATEBOX" >"$T/cli"
stacks=$("$GATEBOX" stacks --json | python3 -c 'import json, sys; d = json.load(sys.stdin); print(" ".join(s["name"] for s in (d["stacks"] if isinstance(d, dict) else d)))')
mkdir "$T/work" "$T/work/gates"
touch "$T/work/unit.toml" "$T/work/notes.txt" "$T/work/gates/lint.toml"

# Cases: "LINE|has|WORD..." or "LINE|lacks|WORD...".
{
  echo "gatebox |has|$(awk -F'\t' '$1 == "command" {printf "%s ", $2}' "$T/cli")"
  declare -A seen=()
  while IFS='|' read -r kind a b c d; do
    [ "$kind" = option ] || continue
    cmd=$a
    [ "$cmd" = - ] && cmd=''
    [ "$cmd" = help ] && continue
    echo "gatebox${cmd:+ $cmd} -|has|$b $c"
    # The values of an option once (each case costs a second of typing), after the first
    # positional argument its command takes.
    if [ -n "$d" ] && [ -z "${seen[$c]:-}" ]; then
      seen[$c]=1
      case $cmd in run | validate) arg=' x.toml' ;; cache) arg=' list' ;; *) arg='' ;; esac
      echo "gatebox${cmd:+ $cmd}$arg $c |has|${d//,/ }"
    fi
  done < <(tr '\t' '|' <"$T/cli")
  while IFS='|' read -r kind a b c; do
    [ "$kind" = positional ] && [ -n "$c" ] && echo "gatebox $a |has|${c//,/ }"
  done < <(tr '\t' '|' <"$T/cli")
  echo "gatebox run x.toml --stack |has|$stacks auto"
  echo "gatebox run x.toml --set limits.me|has|limits.memory=>"  # ARGS<...> of the completed line
  echo "gatebox run |has|unit.toml gates/"
  echo "gatebox run |lacks|notes.txt"
  echo "gatebox help |has|run validate stacks probe bench export cache"
} >"$T/cases"

cut -d'|' -f1 "$T/cases" | awk '!seen[$0]++' | timeout 300 zsh -f "$DOCS_DIR/zsh_complete.zsh" "$SRC/completions" "$T/work" >"$T/out" ||
  fail "zsh_complete.zsh failed: $(tail -5 "$T/out")"

while IFS='|' read -r line mode words; do
  block=$(awk -v want="=== $line" '$0 == want {on = 1; next} /^=== / {on = 0} on' "$T/out")
  for w in $words; do
    if grep -qwF -- "$w" <<<"$block"; then
      [ "$mode" = lacks ] && fail "'$line<TAB>' offers '$w'"
    else
      [ "$mode" = has ] && fail "'$line<TAB>' does not offer '$w'; the terminal showed:$(printf '\n%s' "$block" | sed 's/^/    /')"
    fi
  done
done <"$T/cases"
finish
