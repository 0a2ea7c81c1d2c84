# tests/orch/push_lib.sh — what the tests of a push PDP under the tests' faults share
# (policy_faults.sh, base_pair.sh; sourced after tests/lib.sh).
# push_begin: $U (the daemon built with the faults), $T (a new temporary directory), $S, $M, $W
# (web's node directory), the image cache, the counters at 0, the exit trap (ends $pollpid, the
# mount, the daemon; removes $T), and the store $S made (a check) from a web_topology push on a
# free port $P with a policy in $T/pol: the example's groups and credentials, policy/acl allowing
# every GET, policy/acl.d/r0 denying /a/*.
push_begin() {
    pass=0; fail=0; fgpid=; pollpid=
    U=$UNISEC_FAULTS
    T=$(mktemp -d)
    S=$T/store
    M=$T/mnt
    W=$M/nodes/web
    export UNISEC_CACHE_DIR=${UNISEC_TEST_CACHE:-$T/cache}
    mkdir -p "$M" "$T/pol/acl.d"
    trap push_cleanup EXIT
    P=$(freeport)
    web_topology push "$P" >"$T/topo.yaml"
    cp mount-examples/policy/groups mount-examples/policy/credentials "$T/pol/"
    printf 'regular * GET /* allow\n' >"$T/pol/acl"
    printf 'regular * GET /a/* deny\n' >"$T/pol/acl.d/r0"
    check "init" "$UNISEC" init "$S" --from "$T/topo.yaml" --policy-dir "$T/pol"
}
push_cleanup() {
    [ -n "$pollpid" ] && kill "$pollpid" 2>/dev/null && wait "$pollpid" 2>/dev/null
    fusermount3 -u -z "$M" 2>/dev/null
    [ -n "$fgpid" ] && kill "$fgpid" 2>/dev/null && wait "$fgpid" 2>/dev/null
    rm -rf "$T"
}
# code PATH: the status code web answers an anonymous GET with.
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$P$1"; }
# is_code CODE PATH: web answers an anonymous GET of PATH with CODE.
is_code() { [ "$(code "$2")" = "$1" ]; }
# mount_with FAULTS: the daemon in the foreground, with UNISEC_TEST_FAULT=FAULTS.
mount_with() { mount_up UNISEC_TEST_FAULT="$1"; }
