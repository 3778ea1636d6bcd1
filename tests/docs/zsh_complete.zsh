# zsh -f zsh_complete.zsh COMPLETIONS_DIR WORK_DIR < lines
# For each line of stdin, types it into an interactive zsh (in a pseudo-terminal, with
# compinit and COMPLETIONS_DIR first in fpath, in WORK_DIR) followed by TAB, and prints
#   === LINE
#   what the terminal showed, escape sequences removed
# The caller looks for the words it expects in each block.
zmodload zsh/zpty zsh/zselect || { print -u2 "zsh/zpty or zsh/zselect is not available"; exit 2 }

local dir=$1 work=$2
zpty gbz zsh -f -i
zpty -w gbz "stty rows 200 columns 250; PS1='%% '; LISTMAX=100000; unsetopt BEEP; cd ${(q)work}"
zpty -w gbz "fpath=(${(q)dir} \$fpath); autoload -U compinit; compinit -u -D; print COMPINIT-\$((6*7))"
local out= all=
zpty -r gbz out '*COMPINIT-42*' || { print -u2 "zsh did not start"; exit 2 }

# Reads until the terminal has been quiet for 0.3 s (at most 10 s).
drain() {
  local chunk quiet=0 waited=0
  all=
  while (( quiet < 3 && waited < 100 )); do
    if zpty -r -t gbz chunk; then
      all+=$chunk
      quiet=0
    else
      zselect -t 10
      (( quiet++ ))
    fi
    (( waited++ ))
  done
}

drain
local line
while IFS= read -r line; do
  zpty -w -n gbz "${line}"$'\t'
  drain
  print -r -- "=== $line"
  print -r -- "${all}" | sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b[()][A-Za-z0-9]//g' -e 's/\r/\n/g' -e 's/.\x08//g'
  # Ctrl-U: clear the line for the next case.
  zpty -w -n gbz $'\C-u'
  drain
done
zpty -d gbz
