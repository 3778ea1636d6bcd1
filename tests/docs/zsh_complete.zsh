# zsh -f zsh_complete.zsh COMPLETIONS_DIR WORK_DIR < lines
# For each line of stdin, types it into an interactive zsh (in a pseudo-terminal, with
# compinit and COMPLETIONS_DIR first in fpath, in WORK_DIR), presses TAB, then Enter, and
# prints
#   === LINE
#   what the terminal showed (the list of matches, if any), escape sequences removed
#   ARGS<the arguments of the completed line>     (gatebox is a shell function there)
# The caller looks for the words it expects in each block. Run it under timeout(1): a
# completion that hangs would leave it waiting.
zmodload zsh/zpty || { print -u2 "zsh/zpty is not available"; exit 2 }

local dir=$1 work=$2 out line
integer n=1
zpty gbz zsh -f -i
# A big LISTMAX: never ask "do you wish to see all N possibilities?"; no LIST_AMBIGUOUS: list
# the matches even when TAB also inserts their common prefix. The zle-line-init hook
# says when ZLE is ready for input: input typed before that may be flushed when ZLE puts the
# terminal in raw mode. The echo of a command shows "$((...))"; only its output the number.
zpty -w gbz "stty rows 200 columns 250; PS1='%% '; LISTMAX=100000; unsetopt BEEP LIST_AMBIGUOUS; cd ${(q)work}"
zpty -w gbz "gatebox() { print -r -- \"ARGS<\$*>\" }; integer gbready=0"
zpty -w gbz "zle-line-init() { print -rn -- \"RDY-\$((++gbready));\" }; zle -N zle-line-init"
zpty -w gbz "fpath=(${(q)dir} \$fpath); autoload -U compinit; compinit -u -D; gbready=0; print READY-\$((6*7))"
zpty -r gbz out '*READY-42*' || { print -u2 "zsh did not start"; exit 2 }
zpty -r gbz out "*RDY-${n};*" || { print -u2 "ZLE did not start"; exit 2 }

while IFS= read -r line; do
  zpty -w -n gbz "${line}"$'\t\n'
  (( n++ ))
  zpty -r gbz out "*RDY-${n};*" || { print -u2 "no answer to: $line"; exit 2 }
  print -r -- "=== $line"
  print -r -- "${out}" | sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b[()][A-Za-z0-9]//g' \
    -e 's/\r/\n/g' -e 's/.\x08//g' -e 's/RDY-[0-9]*;//g'
done
zpty -d gbz
