# bash completion for unisec and unisec-tender: commands, options, their values, and the node
# names of a topology or of a mounted store. Installed as
# share/bash-completion/completions/unisec; needs nothing of the bash-completion package.
# The option lists follow each command's usage line (`unisec COMMAND --help`); the test suite
# checks that they name every option it shows.

_unisec_commands="check translate acl init mount status run build pdp verify hook"

# _unisec_opts COMMAND: the options COMMAND takes ("acl-SUB", "hook-SUB" for a subcommand). A
# trailing '=' marks an option that takes a value.
_unisec_opts() {
    case $1 in
    check) echo "--target= --policy-dir= --json --input= --inputs=" ;;
    translate) echo "--target= --policy-dir= --input= --inputs= -o --output=" ;;
    acl-check) echo "--kind=" ;;
    acl-query) echo "--json" ;;
    acl-compile) echo "--policy-name= --policy-version= -o --output=" ;;
    acl-passwd) echo "--iterations=" ;;
    init) echo "--from= --policy-dir= --target= --signing-key= --input= --inputs=" ;;
    mount) echo "-f -o --no-run --log= --target= --store=" ;;
    status) echo "--store= --json" ;;
    run | tender) echo "--port= --listen= --listen-fd= --upstream= --policy-blob= --policy-fd=
        --control-fd= --tls-cert= --tls-key= --tls-fd= --mem= --streams= --quiet" ;;
    build) echo "--node= --level= --target= --policy-dir= --policy-version= --cache= -j --jobs=
        -o --output=" ;;
    pdp) echo "--listen= --policy-version=" ;;
    verify) echo "--store= --cache=" ;;
    hook-pre-receive) echo "--target=" ;;
    hook-install) echo "--target= --force" ;;
    esac
}

# _unisec_takes CMD OPT: does OPT (without '=') take a value? (-o and -j always do.)
_unisec_takes() {
    [[ $2 == -o || $2 == -j || " $(_unisec_opts "$1") " == *" $2= "* ]]
}

# The mount points of the unisec mounts this process sees, one a line.
_unisec_mounts() {
    local line
    [[ -r /proc/self/mountinfo ]] || return 0
    while IFS= read -r line; do
        [[ $line == *" - fuse.unisec "* ]] || continue
        set -- $line
        printf '%b\n' "$5"
    done </proc/self/mountinfo
}

# The stores those mounts serve (their source), one a line.
_unisec_stores() {
    local line rest
    [[ -r /proc/self/mountinfo ]] || return 0
    while IFS= read -r line; do
        [[ $line == *" - fuse.unisec "* ]] || continue
        rest=${line#* - fuse.unisec }
        printf '%b\n' "${rest%% *}"
    done </proc/self/mountinfo
}

# _unisec_ls DIR / _unisec_cat FILE: of a mount, which may be another user's or a daemon that
# does not answer: a second at most, never a hung shell.
_unisec_ls() { timeout 1 ls -- "$1" 2>/dev/null; }
_unisec_cat() { timeout 1 cat -- "$1" 2>/dev/null; }

# _unisec_nodes [TOPOLOGY]: node names. A topology inside a mount: its nodes/ directory; a
# topology file: the keys under node_templates; none: the nodes of every mounted store.
_unisec_nodes() {
    local topo=$1 dir m
    if [[ -n $topo && -f $topo ]]; then
        dir=$(dirname -- "$topo")
        if [[ -d $dir/nodes && -f $dir/settle ]]; then
            _unisec_ls "$dir/nodes"
        else
            awk '
                /^[ \t]*#/ { next }
                match($0, /^ */) && in_nt == 0 && $1 == "node_templates:" {
                    in_nt = 1; base = RLENGTH; want = -1; next }
                in_nt == 1 && NF > 0 {
                    match($0, /^ */); ind = RLENGTH
                    if (ind <= base) { in_nt = 0; next }
                    if (want < 0) want = ind
                    if (ind == want && $1 ~ /:$/) { sub(/:$/, "", $1); print $1 }
                }' "$topo" 2>/dev/null
        fi
        return 0
    fi
    while IFS= read -r m; do
        _unisec_ls "$m/nodes"
    done < <(_unisec_mounts)
}

# _unisec_levels NODE: the levels NODE declares, from a mounted store.
_unisec_levels() {
    local m
    while IFS= read -r m; do
        _unisec_cat "$m/nodes/$1/security_levels"
    done < <(_unisec_mounts)
}

# _unisec_value CMD OPT CUR TOPOLOGY NODE: completes the value of option OPT.
_unisec_value() {
    local cmd=$1 opt=$2 cur=$3 topo=$4 node=$5
    case $opt in
    --target) COMPREPLY=($(compgen -W "hvt spt" -- "$cur")) ;;
    --kind) COMPREPLY=($(compgen -W "acl groups credentials" -- "$cur")) ;;
    --node) COMPREPLY=($(compgen -W "$(_unisec_nodes "$topo")" -- "$cur")) ;;
    --level) COMPREPLY=($(compgen -W "$(_unisec_levels "$node")" -- "$cur")) ;;
    --store) COMPREPLY=($(compgen -W "$(_unisec_stores)" -- "$cur") $(compgen -d -- "$cur")) ;;
    --policy-dir | --cache) COMPREPLY=($(compgen -d -- "$cur")) ;;
    -o | --output)
        if [[ $cmd == mount ]]; then
            COMPREPLY=($(compgen -W "allow_other target=hvt target=spt host= remote= fetch_interval= norun log= metrics= nodelog_max= nodelog_keep= notify nonotify" -- "$cur"))
        elif [[ $cmd == acl-compile ]]; then
            COMPREPLY=($(compgen -f -- "$cur"))
        else
            COMPREPLY=($(compgen -d -- "$cur"))
        fi ;;
    --from | --inputs | --log | --policy-blob | --signing-key | --tls-cert | --tls-key) COMPREPLY=($(compgen -f -- "$cur")) ;;
    *) COMPREPLY=() ;;
    esac
}

_unisec() {
    local cur=${COMP_WORDS[COMP_CWORD]} words=() i w cmd="" topo="" node="" opt="" start=1
    COMPREPLY=()
    # Join "--opt" "=" "value" back (bash splits words at '=' by default).
    for ((i = 0; i < ${#COMP_WORDS[@]} && i <= COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        if [[ ${#words[@]} -gt 0 && ($w == "=" || ${words[-1]} == *=) && ${words[-1]} == -* ]]; then
            words[-1]+=$w
        else
            words+=("$w")
        fi
    done
    cur=${words[-1]}
    if [[ ${words[0]##*/} == unisec-tender ]]; then
        cmd=tender
    elif [[ ${#words[@]} -le 2 ]]; then
        COMPREPLY=($(compgen -W "$_unisec_commands --help --version" -- "$cur"))
        return 0
    else
        cmd=${words[1]}
        start=2
        if [[ $cmd == acl || $cmd == hook ]]; then
            if [[ ${#words[@]} -le 3 ]]; then
                [[ $cmd == acl ]] && w="check query compile passwd" || w="pre-receive install"
                COMPREPLY=($(compgen -W "$w" -- "$cur"))
                return 0
            fi
            cmd=$cmd-${words[2]}
            start=3
        fi
    fi
    # What the words before this one say: the first operand (the topology), --node's value.
    for ((i = start; i < ${#words[@]} - 1; i++)); do
        w=${words[i]}
        case $w in
        --node=*) node=${w#--node=} ;;
        --*=*) ;;
        -*) _unisec_takes "$cmd" "$w" && { [[ $w == --node ]] && node=${words[i + 1]}; ((i++)); } ;;
        *) topo=${topo:-$w} ;;
        esac
    done
    if [[ $cur == --*=* ]]; then
        opt=${cur%%=*}
        _unisec_value "$cmd" "$opt" "${cur#*=}" "$topo" "$node"
        # With '=' a word break, bash replaces only what follows it.
        if [[ $COMP_WORDBREAKS != *=* ]]; then
            COMPREPLY=("${COMPREPLY[@]/#/$opt=}")
        fi
        return 0
    fi
    w=${words[-2]}
    if [[ ${#words[@]} -gt $start && $w == -* && $w != *=* ]] && _unisec_takes "$cmd" "$w"; then
        _unisec_value "$cmd" "$w" "$cur" "$topo" "$node"
        return 0
    fi
    if [[ $cur == -* ]]; then
        local o list=()
        for o in $(_unisec_opts "$cmd") --help; do
            list+=("$o")
        done
        COMPREPLY=($(compgen -W "${list[*]}" -- "$cur"))
        # An option that takes a value: no space after its '='.
        [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *= ]] && compopt -o nospace 2>/dev/null
        return 0
    fi
    case $cmd in
    mount | hook-install) COMPREPLY=($(compgen -d -- "$cur")) ;;
    acl-query | acl-compile | pdp) COMPREPLY=($(compgen -d -- "$cur")) ;;
    *) COMPREPLY=($(compgen -f -- "$cur")) ;;
    esac
    return 0
}

complete -F _unisec unisec unisec-tender mount.unisec
