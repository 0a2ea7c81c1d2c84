# tests/lib.sh — what the shell tests share (sourced, from the source tree's root): the pass and
# fail counters, the checks, the wait, the skip, the daemon under test. A test may redefine bad()
# after sourcing to keep more evidence of a failure (tests/orch/e2e.sh does).
# A test ended by a signal (meson's timeout sends SIGTERM) exits through its exit trap, which
# unmounts and ends its daemon: a shell runs that trap on a signal only when it catches it.
trap 'exit 143' TERM
trap 'exit 130' INT
ok() { pass=$((pass + 1)); }
# bad WHAT: a failure; when a watched daemon (mount_up) has ended, the test ends with it.
bad() { echo "FAIL: $*"; fail=$((fail + 1)); mount_check "failing: $*"; }
# check DESCRIPTION COMMAND...: passes when COMMAND succeeds.
check() { d=$1; shift; if "$@" >/dev/null 2>&1; then ok; else bad "$d"; fi; }
# refuse DESCRIPTION COMMAND...: passes when COMMAND fails.
refuse() { d=$1; shift; if "$@" >/dev/null 2>&1; then bad "$d (succeeded)"; else ok; fi; }
# same DESCRIPTION FILE TEXT: FILE holds exactly TEXT (and a newline).
same() {
    got=$(cat "$2" 2>&1)
    if [ "$got" = "$3" ]; then ok; else bad "$1: '$2' holds '$got', expected '$3'"; fi
}
# wait_for SECONDS COMMAND...: true as soon as COMMAND succeeds (polled every 0.1 s), false
# after SECONDS. When a daemon the test watches (mount_up) has ended and COMMAND still fails, it
# can no longer come true: the test ends at once (mount_died).
wait_for() {
    n=$(($1 * 10)); shift
    while [ $n -gt 0 ]; do
        "$@" >/dev/null 2>&1 && return 0
        if mount_dead; then
            # What it waits for may follow from the end (kill -0 sees the daemon until the
            # shell has reaped it, as it does while it waits for a command): a second more.
            n=10
            while [ $n -gt 0 ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; n=$((n - 1)); done
            mount_died "$mv" "while the test waited for: $*"
        fi
        sleep 0.1; n=$((n - 1))
    done
    return 1
}
# need CMD...: exits 77 (skip) saying why when /dev/fuse or one of the commands is missing.
need() {
    [ -c /dev/fuse ] || { echo "SKIP: /dev/fuse is missing"; exit 77; }
    for c in "$@"; do
        command -v "$c" >/dev/null || { echo "SKIP: $c is not installed"; exit 77; }
    done
}
# umount_wait: unmounts $M and waits (10 s) until the kernel no longer lists it; the daemon
# of `mount_up --daemon`, which ends now, is no longer watched ($dpid emptied).
umount_wait() { fusermount3 -u "$M" && wait_for 10 sh -c "! grep -q ' $M fuse' /proc/mounts" && dpid=; }
# daemon_pid [STORE MOUNTPOINT]: the daemon serving MOUNTPOINT ($M) from STORE ($S), found by
# its unique mount point.
daemon_pid() {
    for p in /proc/[0-9]*; do
        tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -q -- "--store ${1:-$S} ${2:-$M}" &&
            { echo "${p#/proc/}"; return 0; }
    done
    return 1
}

# ---- the daemon under test ---------------------------------------------------------------------
# mount_up starts a daemon and watches it: its pid in a variable ($fgpid, or $dpid for one that
# daemonised, or the one named), its log and mount point recorded beside it (VAR_log, VAR_mnt).
# When a wait (wait_for) or a check fails (bad) and a watched daemon has ended, the test ends at
# once (mount_died): no bound is waited out for a daemon that a sanitizer's report or a crash
# stopped.
# A daemon ended by an unmount is not taken for dead; a test that kills one on purpose empties
# its variable once it has ended (`wait "$fgpid"; fgpid=`, as its exit trap needs anyway), and
# one that mounts again other than through mount_up empties it at the unmount (umount_wait does
# so for $dpid). Reports go to fd 9, the test's output, to be seen from inside check's >/dev/null.
exec 9>&1
mount_watch="fgpid dpid"

# mount_up [--daemon] [--at STORE MOUNTPOINT] [--pid VAR] [--log-to FILE] [--via CMD]
#          [NAME=VALUE...] [MOUNT OPTIONS...]:
# serves STORE ($S) on MOUNTPOINT ($M): `$U mount -f OPTIONS --store STORE MOUNTPOINT` in the
# background, with NAME=VALUE in its environment and CMD (words, e.g. nsenter --net=NS) before
# it, its output appended to FILE ($T/daemon.log), its pid in VAR ($fgpid); true once
# MOUNTPOINT/README is there. --daemon: `$U mount OPTIONS --store ...`, which returns once the
# mount is served and leaves the daemon in the background: its output in $T/mount.out, its pid
# in VAR ($dpid), its log STORE/.git/unisec.log. The daemon is watched (above); the test ends,
# with the daemon's log, when the mount fails or is not served within 30 s.
mount_up() {
    mu_f=-f mu_s=${S:-} mu_m=${M:-} mu_v= mu_log= mu_via=
    while :; do
        case ${1:-} in
        --daemon) mu_f= ;;
        --at) mu_s=$2 mu_m=$3; shift 2 ;;
        --pid) mu_v=$2; shift ;;
        --log-to) mu_log=$2; shift ;;
        --via) mu_via=$2; shift ;;
        *) break ;;
        esac
        shift
    done
    if [ -z "$mu_v" ]; then if [ -n "$mu_f" ]; then mu_v=fgpid; else mu_v=dpid; fi; fi
    case " $mount_watch " in *" $mu_v "*) ;; *) mount_watch="$mount_watch $mu_v" ;; esac
    if [ -n "$mu_f" ]; then
        mu_log=${mu_log:-$T/daemon.log}
        mount_exec "$@" >>"$mu_log" 2>&1 9>&- &
        eval "$mu_v=\$!"
    else
        mu_log=${mu_log:-$mu_s/.git/unisec.log}
        (mount_exec "$@") >"$T/mount.out" 2>&1 9>&- ||
            mount_fatal "$mu_log" "unisec mount of $mu_s on $mu_m failed: $(cat "$T/mount.out")"
        eval "$mu_v=\$(daemon_pid \"\$mu_s\" \"\$mu_m\")"
    fi
    eval "${mu_v}_log=\$mu_log ${mu_v}_mnt=\$mu_m ${mu_v}_up="
    wait_for 30 test -f "$mu_m/README" ||
        mount_fatal "$mu_log" "the daemon did not serve $mu_m within 30 s"
    eval "${mu_v}_up=1"
}
# mount_exec NAME=VALUE... ARGS...: (mount_up's, in a process of its own) exports the NAME=VALUE
# words and becomes the daemon: $! is its pid.
mount_exec() {
    while case ${1:-} in [A-Z_]*=*) true ;; *) false ;; esac; do export "$1"; shift; done
    # shellcheck disable=SC2086 # CMD is words
    exec $mu_via "${U:-$UNISEC}" mount $mu_f "$@" --store "$mu_s" "$mu_m"
}
# mount_dead: true when a watched daemon has ended before it served, or while its mount is
# still there (an unmount ends it too: the test's doing); the name of its variable in $mv.
mount_dead() {
    for mv in $mount_watch; do
        eval "mp=\${$mv:-} mm=\${${mv}_mnt:-} mu=\${${mv}_up:-}"
        [ -n "$mp" ] || continue
        # /proc/PID/stat's state, after the command's name in parentheses: Z, a child not reaped.
        if read -r ms 2>/dev/null <"/proc/$mp/stat"; then
            case ${ms##*") "} in Z* | X*) ;; *) continue ;; esac
        fi
        [ -z "$mu" ] || grep -q " $mm fuse" /proc/mounts && return 0
    done
    return 1
}
# mount_check WHEN: ends the test (mount_died) when a watched daemon has ended.
mount_check() { if mount_dead; then mount_died "$mv" "$1"; fi; }
# mount_died VAR WHEN: the daemon whose pid VAR holds has ended (WHEN says what the test was
# doing): the test fails at once with its exit status (when it is the test's child) and its log.
mount_died() {
    eval "md_p=\$$1 md_log=\${$1_log:-} md_m=\${$1_mnt:-?}"
    eval "$1="
    wait "$md_p" 2>/dev/null; md_rc=$? # 127: not the test's child
    case $md_rc in
    127) md_how= ;;
    1[3-9][0-9] | 2[0-9][0-9]) md_how=" (killed by signal $((md_rc - 128)))" ;;
    *) md_how=" (exit status $md_rc)" ;;
    esac
    mount_fatal "$md_log" "the daemon serving $md_m (pid $md_p) has ended$md_how, $2"
}
# mount_fatal LOG MESSAGE: FAIL: MESSAGE, then what LOG holds (a sanitizer's report from its
# start, or the log's end), the whole log kept in the build's meson-logs, the counts; exit 1.
mount_fatal() {
    {
        echo "FAIL: $2"
        if [ ! -s "$1" ]; then
            echo "--- its log ($1) is empty or missing"
        elif grep -q 'ERROR: [A-Za-z]*Sanitizer\|runtime error:' "$1"; then
            echo "--- the sanitizer's report in its log ($1):"
            grep -m 1 -B 2 -A 80 'ERROR: [A-Za-z]*Sanitizer\|runtime error:' "$1"
        else
            echo "--- the end of its log ($1):"
            tail -n 40 "$1"
        fi
        mf_keep=${UNISEC_BUILDDIR:-}/meson-logs/$(basename "$0" .sh).daemon.log
        [ -s "$1" ] && [ -d "${mf_keep%/*}" ] && cp "$1" "$mf_keep" 2>/dev/null &&
            echo "--- the whole log is kept as $mf_keep"
        echo "${pass:-0} passed, $((${fail:-0} + 1)) failed"
    } >&9
    exit 1
}
# settled WHAT: reads settle (which waits) and expects every node to run what is desired.
settled() {
    out=$(cat "$M/settle" 2>&1)
    case $out in *"nodes run what is desired"*) ok ;; *) bad "$1: settle says: $out" ;; esac
}
# outside_rm PATH MESSAGE: an operator's `git rm PATH` and `git commit -m MESSAGE` in the store
# $S, with $GIT (git with the operator's name). The mount leaves a staged change to the
# operator's commit for a grace (fs/MOUNT.md), so the commit is theirs.
outside_rm() { $GIT rm -q "$1" && $GIT commit -q -m "$2"; }
# outside_commit_a MESSAGE: an operator's `git commit -a -m MESSAGE` in the store $S ($GIT) of
# files just edited in its work tree. The daemon takes a valid edit that is not staged in as a
# commit of its own once the store has been quiet for 40 ms (fs/MOUNT.md), so on a loaded machine
# git may find nothing left to commit: true either way once main holds the work tree's files.
outside_commit_a() {
    $GIT commit -q -a -m "$1" 2>/dev/null || wait_for 10 git -C "$S" diff --quiet main --
}
# freeport: a TCP port free on 127.0.0.1 (now).
freeport() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# git_daemon [--via CMD] ARGS...: git daemon ARGS in the background, $pidd its pid, its output
# in $T/git-daemon.log. Neither it nor the process it forks per connection holds the test's
# output (fd 1, fd 9): a connection left open outlives the daemon, and meson waits for the end
# of the output, not of the test, so it would count the test as timed out.
git_daemon() {
    gd_via=
    if [ "${1:-}" = --via ]; then gd_via=$2; shift 2; fi
    # shellcheck disable=SC2086 # CMD is words
    $gd_via git daemon --reuseaddr "$@" >"$T/git-daemon.log" 2>&1 9>&- &
    pidd=$!
}
# commits: how many commits main of the store $S has.
commits() { git -C "$S" rev-list --count main; }
# one_mount: a test of one mount. $T a new temporary directory, $S its store, $M its mount
# point (made), the counters at 0, $fgpid (the daemon's pid, set by mount_up), $bgpids (the
# test's own background jobs, for it to add to), and an exit trap that ends those jobs, unmounts
# $M, ends the daemon and removes $T.
one_mount() {
    T=$(mktemp -d)
    S=$T/store
    M=$T/mnt
    mkdir -p "$M"
    pass=0; fail=0; fgpid=; bgpids=
    trap '[ -n "$bgpids" ] && kill $bgpids 2>/dev/null
        fusermount3 -u -z "$M" 2>/dev/null
        [ -n "$fgpid" ] && kill "$fgpid" 2>/dev/null && wait "$fgpid" 2>/dev/null
        rm -rf "$T"' EXIT
}
# tls_fp CERT: the fingerprint of CERT's key as the mount names it (hex SHA-256 of the
# SubjectPublicKeyInfo, DER), without the `sha256:` of key.fingerprint.
tls_fp() {
    openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -c1-64
}
# web_topology PDP PORT: a topology of one web node serving `GET /* 200 ok` on PORT, whose one
# level enforces the ACLs with a PDP of mode PDP (push, pull, internal).
web_topology() {
    cat <<YAML
tosca_definitions_version: tosca_simple_yaml_1_2
unikernel_modules:
  web_type:
    http_server:
      capabilities: {http_processing: tosca.capabilities.Endpoint}
      requirements: [{available_nic: unikernel.virtualenv.networking.nic}]
    log:
      capabilities: {console_logging: unikernel.virtualenv.console}
    dispatch:
      properties: {http_port: {type: integer}, routes: {type: string}}
      capabilities: {webserver_front: tosca.capabilities.Endpoint}
      requirements:
        - http_processing: tosca.capabilities.Endpoint
        - console_logging: unikernel.virtualenv.console
security_functions:
  ${1}_access: {mechanism: access_control, pdp: $1, policy: regular}
topology_template:
  node_templates:
    web:
      type: web_type
      properties:
        http_port: $2
        routes: "GET /* 200 text/plain ok"
        access_level:
          multi_level_security:
            default_security_level: ${1}_access
YAML
}
