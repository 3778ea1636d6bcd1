# bash completion for gatebox(1).
# Install as /usr/share/bash-completion/completions/gatebox, or source it from ~/.bashrc.
# Self-contained: works with or without the bash-completion package.

_gatebox_stacks='native docker gvisor qemu firecracker kubernetes auto'
_gatebox_commands='run validate stacks probe bench export cache help'

# Every key `gatebox run --set` accepts (docs/ARCHITECTURE.md §3.2; tests/docs checks this
# list against `gatebox validate --print`).
_gatebox_keys='version name description
stack.kind stack.requires stack.isolation
stack.docker.host stack.docker.runtime stack.gvisor.runsc stack.gvisor.platform
stack.qemu.binary stack.qemu.kernel stack.qemu.accel
stack.firecracker.binary stack.firecracker.kernel
stack.kubernetes.kubeconfig stack.kubernetes.context stack.kubernetes.namespace
stack.kubernetes.runtime_class stack.kubernetes.registry stack.kubernetes.image_pull_secret stack.kubernetes.seccomp stack.kubernetes.seccomp_profile
rootfs.image rootfs.dir rootfs.sha256 rootfs.max_bytes rootfs.max_entries
run.argv run.cwd run.env run.user run.hostname
limits.timeout limits.memory limits.pids limits.cpus limits.disk limits.output limits.open_files
network.mode
seccomp.profile seccomp.allow seccomp.deny seccomp.action seccomp.report
verdict.pass verdict.error verdict.on_timeout verdict.on_signal verdict.on_oom verdict.file'

# The options of each command; those that take a value are in _gatebox_takes_value.
_gatebox_global_opts='-h --help -q --quiet -v --verbose --color'
_gatebox_takes_value=' --color -s --stack --set -m --mount -e --env -t --timeout --cache-dir --report --log-format --log-file --older-than -n --runs -p --parallel '

_gatebox_options()
{
    case $1 in
        '') printf '%s\n' --version $_gatebox_global_opts ;;
        run) printf '%s\n' -s --stack --set -m --mount -e --env -t --timeout --cache-dir \
                 --report --log-format --log-file --seccomp-report --dry-run $_gatebox_global_opts ;;
        validate) printf '%s\n' --print $_gatebox_global_opts ;;
        stacks) printf '%s\n' --json $_gatebox_global_opts ;;
        probe) printf '%s\n' -s --stack --json --cache-dir $_gatebox_global_opts ;;
        bench) printf '%s\n' -s --stack -n --runs -p --parallel --json --cache-dir $_gatebox_global_opts ;;
        export) printf '%s\n' -s --stack --set -m --mount -e --env -t --timeout --cache-dir --no-push \
                    $_gatebox_global_opts ;;
        cache) printf '%s\n' --cache-dir --older-than $_gatebox_global_opts ;;
        help) printf '%s\n' -h --help ;;
    esac
}

# Adds the words of $1 that start with $cur, each preceded by $prefix.
_gatebox_add()
{
    local w
    for w in $1; do
        [[ $w == "$cur"* ]] && COMPREPLY+=("$prefix$w")
    done
}

_gatebox_files()  # $1: a glob the names must match, or empty for any file
{
    local IFS=$'\n' f
    compopt -o filenames 2>/dev/null
    COMPREPLY+=($(compgen -d -- "$cur"))
    if [[ -n $1 ]]; then
        COMPREPLY+=($(compgen -f -X "!$1" -- "$cur"))
    else
        COMPREPLY+=($(compgen -f -- "$cur"))
    fi
}

# Completes the value of option $1.
_gatebox_value()
{
    case $1 in
        --color) _gatebox_add 'auto always never' ;;
        -s|--stack) _gatebox_add "$_gatebox_stacks" ;;
        --log-format) _gatebox_add 'plain prefixed json' ;;
        --set)
            _gatebox_add "$_gatebox_keys"
            local i
            for i in "${!COMPREPLY[@]}"; do COMPREPLY[i]+='='; done
            compopt -o nospace 2>/dev/null
            ;;
        --cache-dir)
            local IFS=$'\n'
            compopt -o filenames 2>/dev/null
            COMPREPLY+=($(compgen -d -- "$cur"))
            ;;
        -m|--mount|--report|--log-file) _gatebox_files '' ;;
        # -e, -t, --older-than, -n, -p: free text
    esac
}

_gatebox()
{
    COMPREPLY=()
    local cur=${COMP_WORDS[COMP_CWORD]} prev='' prefix='' i word cmd='' npos=0 dashdash=0
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}

    # Find the command, count its positional arguments and see whether "--" came before
    # the word being completed; skip the values of options that take one.
    local skip=0
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        # With '=' and ':' in COMP_WORDBREAKS, "--set k=v" and "-m a:/b" arrive as several
        # words; a lone '=' or ':' glues the next word to the one before it.
        if [[ $word == [=:] ]]; then
            skip=1
            continue
        fi
        if ((skip)); then
            skip=0
            continue
        fi
        if [[ ($cmd == run || $cmd == export) && $word == -- ]]; then
            dashdash=$i
            break
        fi
        case $word in
            --*=*) ;;
            -*)
                [[ $_gatebox_takes_value == *" $word "* ]] && skip=1
                ;;
            *)
                if [[ -z $cmd ]]; then cmd=$word; else ((npos++)); fi
                ;;
        esac
    done

    # After "run PROFILE ... --" (or export's): the gate's command line.
    if ((dashdash)); then
        if ((COMP_CWORD == dashdash + 1)); then
            local IFS=$'\n'
            COMPREPLY=($(compgen -c -- "$cur" | sort -u))
        else
            _gatebox_files ''
        fi
        return 0
    fi

    # An option's value: "--opt value", "--opt=value" as one word, or "--opt", "=", "value".
    if [[ $cur == --*=* ]]; then
        prefix=${cur%%=*}=
        word=${cur%%=*}
        cur=${cur#*=}
        _gatebox_value "$word"
        return 0
    fi
    if [[ $cur == = && $prev == --* ]]; then
        cur=''
        _gatebox_value "$prev"
        return 0
    fi
    if [[ $prev == = ]] && ((COMP_CWORD >= 2)); then
        _gatebox_value "${COMP_WORDS[COMP_CWORD - 2]}"
        return 0
    fi
    if [[ $_gatebox_takes_value == *" $prev "* ]]; then
        _gatebox_value "$prev"
        return 0
    fi

    if [[ $cur == -* ]]; then
        _gatebox_add "$(_gatebox_options "$cmd")"
        return 0
    fi

    case $cmd in
        '') _gatebox_add "$_gatebox_commands" ;;
        run|bench) ((npos == 0)) && _gatebox_files '*.toml' ;;
        export)
            if ((npos == 0)); then _gatebox_add 'kubernetes seccomp'; elif ((npos == 1)); then _gatebox_files '*.toml'; fi
            ;;
        validate) _gatebox_files '*.toml' ;;
        cache) ((npos == 0)) && _gatebox_add 'list prune clear' ;;
        stacks) _gatebox_add "${_gatebox_stacks% auto}" ;;
        help) ((npos == 0)) && _gatebox_add 'run validate stacks probe bench export cache' ;;
    esac
    # Nothing positional left to complete: offer the options (and "--" after run's profile).
    if ((${#COMPREPLY[@]} == 0)) && [[ -z $cur && -n $cmd && $cmd != help ]]; then
        _gatebox_add "$(_gatebox_options "$cmd")"
        [[ $cmd == run ]] && COMPREPLY+=(--)
    fi
    return 0
}

complete -F _gatebox gatebox
