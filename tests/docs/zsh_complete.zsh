# zsh -f zsh_complete.zsh COMPLETIONS_DIR WORK_DIR < lines
# For each line of stdin, types it into an interactive zsh (in a pseudo-terminal, with
# compinit and COMPLETIONS_DIR first in fpath, in WORK_DIR) followed by TAB, and prints
#   === LINE
#   what the terminal showed, escape sequences removed
# The caller looks for the words it expects in each block. Run it under timeout(1): a
# completion that hangs would leave it waiting.
zmodload zsh/zpty || { print -u2 "zsh/zpty is not available"; exit 2 }

local dir=$1 work=$2 out n=0 line
zpty gbz zsh -f -i
# A big LISTMAX: never ask "do you wish to see all N possibilities?".
zpty -w gbz "stty rows 200 columns 250; PS1='%% '; LISTMAX=100000; unsetopt BEEP; cd ${(q)work}"
zpty -w gbz "fpath=(${(q)dir} \$fpath); autoload -U compinit; compinit -u -D; print READY-\$((6*7))"
# The echo of a command shows "$((...))"; only its output shows the number.
zpty -r gbz out '*READY-42*' || { print -u2 "zsh did not start"; exit 2 }

# The first line typed while ZLE starts up can lose its TAB: type a throwaway one first.
local -a lines=("gatebox " "${(@f)$(cat)}")
for line in "${lines[@]}"; do
  (( n++ ))
  # ZLE handles its input in order: the completion finishes, Ctrl-U clears the line, and
  # the print shows that everything before it has been drawn.
  zpty -w -n gbz "${line}"$'\t'
  zpty -w -n gbz $'\C-u'
  zpty -w gbz "print DONE-\$(($n*1))"
  zpty -r gbz out "*DONE-${n}[^0-9]*" || { print -u2 "no answer to: $line"; exit 2 }
  (( n == 1 )) && continue
  print -r -- "=== $line"
  print -r -- "${out}" | sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b[()][A-Za-z0-9]//g' \
    -e 's/\r/\n/g' -e 's/.\x08//g' | grep -v -e 'DONE-'
done
zpty -d gbz
