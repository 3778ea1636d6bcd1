#!/usr/bin/env bash
# The bash completion, loaded into a bare `bash --norc`, completes what the built gatebox
# accepts: its commands, every option of every command (from `gatebox help COMMAND`), the
# values of options with a fixed set, the stacks `gatebox stacks` lists (and auto), cache
# actions, profile keys after --set, *.toml files for PROFILE, and the gate's command after --.
. "$(dirname "$0")/lib.sh"

need_gatebox
python3 "$DOCS_DIR/cli_help.py" "$GATEBOX" >"$T/cli"
stacks=$("$GATEBOX" stacks --json | python3 -c 'import json, sys; d = json.load(sys.stdin); print(" ".join(s["name"] for s in (d["stacks"] if isinstance(d, dict) else d)))')

mkdir "$T/work" "$T/work/gates"
touch "$T/work/gate.toml" "$T/work/notes.txt" "$T/work/gates/unit.toml"

cat >"$T/cases.sh" <<'CASES'
failures=0
. "$COMPLETION" || { echo "FAIL: sourcing $COMPLETION failed"; exit 1; }
complete -p gatebox | grep -q -- '-F _gatebox' || { echo "FAIL: no 'complete -F _gatebox gatebox'"; failures=1; }

# comp WORD...: what completing the last word offers, one a line.
comp() {
  COMP_WORDS=("$@")
  COMP_CWORD=$(($# - 1))
  COMP_LINE="$*"
  COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  _gatebox gatebox "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" 2>/dev/null
  printf '%s\n' "${COMPREPLY[@]}"
}

# expect "LINE" has|lacks|only WORD...: LINE is split into words at spaces; with a "split:"
# prefix also at '=' and ':', each of which becomes a word, as bash does by COMP_WORDBREAKS.
expect() {
  local words=$1 mode=$2 line got w
  shift 2
  line=$words
  if [[ $line == split:* ]]; then
    words=${words#split:}
    line=$(sed 's/[=:]/ & /g' <<<"$words")
    [[ $words == *[=:] ]] && line=${line% }
  fi
  # shellcheck disable=SC2086
  if [ "${line: -1}" = " " ]; then got=$(comp $line ''); else got=$(comp $line); fi
  for w in "$@"; do
    if [ "$mode" = lacks ]; then
      grep -qxF -- "$w" <<<"$got" && { echo "FAIL: '$words<TAB>' offers '$w'"; failures=1; }
    else
      grep -qxF -- "$w" <<<"$got" || { echo "FAIL: '$words<TAB>' does not offer '$w' (offered: $(echo $got))"; failures=1; }
    fi
  done
  if [ "$mode" = only ] && [ "$(grep -c . <<<"$got")" != "$#" ]; then
    echo "FAIL: '$words<TAB>' offers $(echo $got); expected only $*"
    failures=1
  fi
}

# From the built CLI (cli_help.py): commands, options, fixed values.
commands=()
# '|', not a tab, between fields: read would merge the empty fields of consecutive tabs.
while IFS='|' read -r kind a b c d; do
  case $kind in
    command) commands+=("$a") ;;
    option)
      cmd=$a; [ "$cmd" = - ] && cmd=''
      [ "$cmd" = help ] && continue   # `help COMMAND` takes no other option worth offering
      for o in $b $c; do expect "gatebox${cmd:+ $cmd} -" has "$o"; done
      if [ -n "$d" ]; then
        expect "gatebox${cmd:+ $cmd x.toml} $c " only ${d//,/ }
      fi
      ;;
    positional)
      [ -n "$c" ] && expect "gatebox $a " only ${c//,/ }
      ;;
  esac
done < <(tr '\t' '|' <"$CLI")
expect "gatebox " only "${commands[@]}"
expect "gatebox ru" only run
expect "gatebox help " only run validate stacks probe bench export cache
expect "gatebox export " only kubernetes seccomp
expect "gatebox export kubernetes x.toml --no" only --no-push

expect "gatebox run x.toml --stack " only $STACKS auto
expect "gatebox run x.toml -s f" only firecracker
expect "gatebox --color always run x.toml --log-format " only plain prefixed json
expect "gatebox run x.toml --log-format=p" only --log-format=plain --log-format=prefixed
expect "gatebox run x.toml --set limits.me" only limits.memory=
expect "gatebox run x.toml --set limits.pids=64 -e CI=1 -m a:/b:ro --log-" only --log-format --log-file
expect "gatebox cache list --o" only --older-than
expect "split:gatebox run x.toml --log-format=p" only plain prefixed
expect "split:gatebox run x.toml --log-format=" only plain prefixed json
expect "split:gatebox --color=always run x.toml --set limits.pids=64 -e CI=1 -m a:/b:ro --log-" only --log-format --log-file
expect "split:gatebox --color=never r" only run

cd "$WORK"
expect "gatebox run " has gate.toml gates
expect "gatebox run " lacks notes.txt
expect "gatebox run gates/" only gates/unit.toml
expect "gatebox validate gate.toml " has gate.toml gates
expect "gatebox run gate.toml " lacks gate.toml
expect "gatebox run gate.toml -- " has bash
expect "gatebox run gate.toml -- bas" has bash
expect "gatebox run gate.toml -- ls no" only notes.txt
exit $failures
CASES

COMPLETION="$SRC/completions/gatebox.bash" CLI="$T/cli" STACKS="$stacks" WORK="$T/work" \
  bash --norc --noprofile "$T/cases.sh" || FAILURES=$((FAILURES + 1))
finish
