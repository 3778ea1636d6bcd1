# fish completion for gatebox(1). Install as
# /usr/share/fish/vendor_completions.d/gatebox.fish (or ~/.config/fish/completions/).

set -l gatebox_commands run validate stacks probe bench export cache help

# Every key `gatebox run --set` accepts (docs/ARCHITECTURE.md §3.2), each followed by '='.
function __gatebox_keys
    printf '%s=\n' version name description \
        stack.kind stack.requires stack.isolation \
        stack.docker.host stack.docker.runtime stack.gvisor.runsc stack.gvisor.platform \
        stack.qemu.binary stack.qemu.kernel stack.qemu.accel \
        stack.firecracker.binary stack.firecracker.kernel \
        stack.kubernetes.kubeconfig stack.kubernetes.context stack.kubernetes.namespace \
        stack.kubernetes.runtime_class stack.kubernetes.registry stack.kubernetes.image_pull_secret stack.kubernetes.seccomp stack.kubernetes.seccomp_profile \
        rootfs.image rootfs.dir rootfs.sha256 rootfs.max_bytes rootfs.max_entries \
        run.argv run.cwd run.env run.user run.hostname \
        limits.timeout limits.memory limits.pids limits.cpus limits.disk limits.output limits.open_files \
        network.mode \
        seccomp.profile seccomp.allow seccomp.deny seccomp.action seccomp.report \
        verdict.pass verdict.error verdict.on_timeout verdict.on_signal verdict.on_oom verdict.file
end

# True when the command line so far has "gatebox run ... --" (or export's): the gate's argv follows.
function __gatebox_after_dashdash
    set -l tokens (commandline -opc)
    begin; contains -- run $tokens; or contains -- export $tokens; end; and contains -- -- $tokens
end

# After "--": complete the gate's command line as a command of its own.
function __gatebox_gate_argv
    set -l tokens (commandline -opc)
    set -l i (contains -i -- -- $tokens)
    set -l rest
    test $i -lt (count $tokens); and set rest (string escape -- $tokens[(math $i + 1)..-1])
    complete -C "$rest "(commandline -ct)
end

# Folders and *.toml files (fish's __fish_complete_suffix lists every other file too).
function __gatebox_profiles
    for path in (__fish_complete_path (commandline -ct))
        set path (string split -f1 \t -- $path)
        if string match -q -- '*/' $path; or string match -q -- '*.toml' $path
            echo $path
        end
    end
end

complete -c gatebox -f

# Options of every command.
complete -c gatebox -n 'not __gatebox_after_dashdash' -s h -l help -d 'Print help and exit'
complete -c gatebox -n 'not __gatebox_after_dashdash' -s q -l quiet -d 'Print only the final verdict line and errors'
complete -c gatebox -n 'not __gatebox_after_dashdash' -s v -l verbose -d "Print more of gatebox's own messages"
complete -c gatebox -n 'not __gatebox_after_dashdash' -l color -x -a 'auto always never' -d "Colour of gatebox's own messages"
complete -c gatebox -n __fish_use_subcommand -l version -d 'Print the version and exit'

# Commands.
complete -c gatebox -n __fish_use_subcommand -a run -d 'Run the gate once'
complete -c gatebox -n __fish_use_subcommand -a validate -d 'Check profiles'
complete -c gatebox -n __fish_use_subcommand -a stacks -d 'Which stacks work on this host, and why not'
complete -c gatebox -n __fish_use_subcommand -a probe -d 'Which kernel features a gate can use in each stack'
complete -c gatebox -n __fish_use_subcommand -a bench -d "Measure a profile's cost per evaluation on each stack"
complete -c gatebox -n __fish_use_subcommand -a export -d 'Print what a stack would submit (the kubernetes Job, the seccomp profile)'
complete -c gatebox -n __fish_use_subcommand -a cache -d 'Manage the rootfs cache'
complete -c gatebox -n __fish_use_subcommand -a help -d 'Show help for a command'

# run PROFILE [options] [-- ARGV...]
set -l run '__fish_seen_subcommand_from run; and not __gatebox_after_dashdash'
complete -c gatebox -n $run -a '(__gatebox_profiles)' -d Profile
complete -c gatebox -n $run -s s -l stack -x -a 'native docker gvisor qemu firecracker kubernetes auto' -d 'Override stack.kind'
complete -c gatebox -n $run -l set -x -a '(__gatebox_keys)' -d 'Override a profile key: KEY=VALUE (TOML)'
complete -c gatebox -n $run -s m -l mount -r -F -d 'Add a bind mount SRC:DST[:ro|rw]'
complete -c gatebox -n $run -s e -l env -x -d 'Add or replace an environment variable NAME=VALUE'
complete -c gatebox -n $run -s t -l timeout -x -d 'Override limits.timeout (e.g. 30s, 5m)'
complete -c gatebox -n $run -l cache-dir -x -a '(__fish_complete_directories)' -d 'The rootfs cache directory'
complete -c gatebox -n $run -l report -r -F -d 'Write the JSON report to FILE (- = stdout)'
complete -c gatebox -n $run -l log-format -x -a 'plain prefixed json' -d "How the gate's output is shown"
complete -c gatebox -n $run -l log-file -r -F -d 'Also write every output line as JSON lines to FILE'
complete -c gatebox -n $run -l dry-run -d 'Print the plan and start nothing'
complete -c gatebox -n $run -l seccomp-report -d 'List the system calls seccomp denied, with counts'
complete -c gatebox -n '__gatebox_after_dashdash' -a '(__gatebox_gate_argv)'

# validate [--print] PROFILE...
complete -c gatebox -n '__fish_seen_subcommand_from validate' -a '(__gatebox_profiles)' -d Profile
complete -c gatebox -n '__fish_seen_subcommand_from validate' -l print -d 'Print each resolved profile as TOML'

# stacks [--json] [STACK...]
complete -c gatebox -n '__fish_seen_subcommand_from stacks' -l json -d 'Print JSON'
complete -c gatebox -n '__fish_seen_subcommand_from stacks' -f -a 'native docker gvisor qemu firecracker kubernetes' -d 'Stack'

# probe [--stack S]... [--json]
set -l probe '__fish_seen_subcommand_from probe'
complete -c gatebox -n $probe -s s -l stack -x -a 'native docker gvisor qemu firecracker kubernetes' -d 'Probe this stack (repeatable; default all)'
complete -c gatebox -n $probe -l json -d 'Print JSON'
complete -c gatebox -n $probe -l cache-dir -x -a '(__fish_complete_directories)' -d 'The rootfs cache directory'

# bench PROFILE [--stack S]... [--runs N] [--parallel P] [--json]
set -l bench '__fish_seen_subcommand_from bench'
complete -c gatebox -n $bench -a '(__gatebox_profiles)' -d Profile
complete -c gatebox -n $bench -s s -l stack -x -a 'native docker gvisor qemu firecracker kubernetes' -d 'Measure this stack (repeatable; default all)'
complete -c gatebox -n $bench -s n -l runs -x -d 'Measured runs per stack, one at a time (default 10)'
complete -c gatebox -n $bench -s p -l parallel -x -d 'Runs at a time for evaluations per minute (default 1)'
complete -c gatebox -n $bench -l json -d 'Print JSON'
complete -c gatebox -n $bench -l cache-dir -x -a '(__fish_complete_directories)' -d 'The rootfs cache directory'

# cache list|prune|clear
set -l cache_action '__fish_seen_subcommand_from cache; and not __fish_seen_subcommand_from list prune clear'
complete -c gatebox -n $cache_action -a list -d 'List the unpacked trees'
complete -c gatebox -n $cache_action -a prune -d 'Remove leftovers and trees unused for --older-than'
complete -c gatebox -n $cache_action -a clear -d 'Remove every tree not in use'
complete -c gatebox -n '__fish_seen_subcommand_from cache' -l cache-dir -x -a '(__fish_complete_directories)' -d 'The cache directory'
complete -c gatebox -n '__fish_seen_subcommand_from cache' -l older-than -x -d 'prune: remove entries unused for this long (default 720h)'

# help COMMAND
complete -c gatebox -n '__fish_seen_subcommand_from help; and not __fish_seen_subcommand_from run validate stacks probe bench export cache' -a 'run validate stacks probe bench export cache'

# export kubernetes|seccomp PROFILE [options] [-- ARGV...]
set -l export '__fish_seen_subcommand_from export; and not __gatebox_after_dashdash'
complete -c gatebox -n "$export; and not __fish_seen_subcommand_from kubernetes seccomp" -a kubernetes -d 'The Job manifest'
complete -c gatebox -n "$export; and not __fish_seen_subcommand_from kubernetes seccomp" -a seccomp -d 'The seccomp filter as an OCI profile'
complete -c gatebox -n "$export; and __fish_seen_subcommand_from kubernetes seccomp" -a '(__gatebox_profiles)' -d Profile
complete -c gatebox -n $export -s s -l stack -x -a 'kubernetes' -d 'Accepted for symmetry with run'
complete -c gatebox -n $export -l set -x -a '(__gatebox_keys)' -d 'Override a profile key: KEY=VALUE (TOML)'
complete -c gatebox -n $export -s m -l mount -r -F -d 'Add a read-only mount SRC:DST[:ro]'
complete -c gatebox -n $export -s e -l env -x -d 'Add or replace an environment variable NAME=VALUE'
complete -c gatebox -n $export -s t -l timeout -x -d 'Override limits.timeout (e.g. 30s, 5m)'
complete -c gatebox -n $export -l cache-dir -x -a '(__fish_complete_directories)' -d 'The rootfs cache directory'
complete -c gatebox -n $export -l no-push -d 'Do not push the rootfs image; only compute its digest'
