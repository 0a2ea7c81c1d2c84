#!/bin/sh
# tests/orch/policy_faults.sh — a policy change when something goes wrong, for real (a mount, a
# running instance in push mode, HTTP), with the daemon built with the tests' faults
# (tests/orch/fault.c, engine/fault.h):
# - a patch damaged on its way: the instance refuses it and keeps its rules, asking for the
#   whole blob; the daemon sends the whole blob, then the patch again, and the change is
#   enforced;
# - the daemon killed (SIGKILL) once a change of policy/acl.d is committed, before anything is
#   served or pushed: its instances die with it (no orphan); mounted again, the instance runs
#   the committed rules and the host's record names that commit;
# - the daemon killed while a change past the policy index's limit has its new base compiled on
#   the side, before any change takes it over: mounted again, the committed rules are in force
#   and the next change too.
# Skips (77) without /dev/fuse, curl or git.
set -u
cd "$UNISEC_SRCDIR" || exit 1
. tests/lib.sh
need fusermount3 curl git python3
pass=0; fail=0; fgpid=

U=$UNISEC_FAULTS
T=$(mktemp -d)
S=$T/store
M=$T/mnt
W=$M/nodes/web
R=$M/policy/acl.d/r0
export UNISEC_CACHE_DIR=${UNISEC_TEST_CACHE:-$T/cache}
mkdir -p "$M" "$T/pol/acl.d"

cleanup() {
    fusermount3 -u -z "$M" 2>/dev/null
    [ -n "$fgpid" ] && kill "$fgpid" 2>/dev/null && wait "$fgpid" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
# code PATH: the status code web answers an anonymous GET with.
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$P$1"; }
is_code() { [ "$(code "$2")" = "$1" ]; }
settled() {
    out=$(cat "$M/settle" 2>&1)
    case $out in *"nodes run what is desired"*) ok ;; *) bad "$1: settle says: $out" ;; esac
}
# mount_with FAULTS: the daemon in the foreground, with UNISEC_TEST_FAULT=FAULTS.
mount_with() {
    UNISEC_TEST_FAULT=$1 "$U" mount -f --store "$S" "$M" 2>>"$T/daemon.log" &
    fgpid=$!
    wait_for 20 test -f "$M/README" || bad "mount with faults '$1'"
}

P=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
web_topology push "$P" >"$T/topo.yaml"
cp mount-examples/policy/groups mount-examples/policy/credentials "$T/pol/"
printf 'regular * GET /* allow\n' >"$T/pol/acl"
printf 'regular * GET /a/* deny\n' >"$T/pol/acl.d/r0"
check "init" "$UNISEC" init "$S" --from "$T/topo.yaml" --policy-dir "$T/pol"

# ---- a damaged patch: refused, the whole blob follows, then the patch -------------------------
mount_with bad-patch
settled "start"
check "web answers before the change" is_code 200 /probe/x
printf 'regular * GET /probe/* deny\n' >>"$R" || bad "append a rule"
settled "after the damaged patch"
check "the rule is enforced" is_code 401 /probe/x
check "the patch was sent" grep -q "web: policy regular v[0-9]* pushed as a patch over v" "$M/events"
check "the host saw the refusal and sent the whole blob" \
    grep -q "web: policy regular v[0-9]*: the patch was refused, the whole blob follows" "$M/events"
check "the instance refused the damaged patch, asking for the whole blob" \
    grep -q "acl_pep: refused policy version [0-9]*: .*(send the whole blob)" "$W/console"
# After the refusal: the whole blob in force, then the patch over it.
check "then the whole blob and the patch are in force" sh -c \
    "sed -n '/refused policy version/,\$p' '$W/console' | grep -q 'in force (whole blob' &&
     sed -n '/refused policy version/,\$p' '$W/console' | grep -q 'in force (patch over v'"
v=$(sed -n 's/.*web: policy regular v\([0-9]*\) pushed as a patch.*/\1/p' "$M/events" | tail -n 1)
check "the instance acknowledged the patch's version (v$v)" grep -q "policy v$v acked" "$W/status"
fusermount3 -u "$M" || bad "unmount"
wait "$fgpid"; fgpid=

# ---- killed between the commit and the push --------------------------------------------------
mount_with after-commit
settled "remount"
check "the rule is still enforced after the remount" is_code 401 /probe/x
printf 'regular * GET /a/* deny\n' >"$T/r0"
# The write's close fails: the daemon is killed once the commit is durable.
if cp "$T/r0" "$R" 2>/dev/null; then bad "the write returned although the daemon was killed"; else ok; fi
wait "$fgpid"; rc=$?; fgpid=
check "the daemon was killed (SIGKILL, status $rc)" test "$rc" = 137
check "the change is committed" sh -c "git -C '$S' log -1 --format=%s main | grep -q '^policy/acl.d/r0: replaced (2 -> 1 rules)'"
check "no instance outlives the daemon" sh -c "! curl -s -o /dev/null --max-time 2 http://127.0.0.1:$P/"
fusermount3 -u -z "$M" 2>/dev/null
mount_with ""
settled "remount after the kill"
check "the instance runs the committed rules" is_code 200 /probe/x
check "and the others still" is_code 401 /a/x
head=$(git -C "$S" rev-parse --short=12 main)
check "the host's record names the committed change" sh -c \
    "git -C '$S' log -1 --format=%B refs/unisec/deployed/local | grep -q '$head'"

fusermount3 -u "$M" || bad "unmount"
wait "$fgpid"; fgpid=

# ---- killed while a new base is compiled on the side -----------------------------------------
mount_with rebase
settled "remount with the rebase fault"
python3 -c 'import sys
sys.stdout.write("regular * GET /probe2/* deny\n")
sys.stdout.write("".join("regular * GET /many/r%d/* deny\n" % i for i in range(1100)))' >"$T/r1"
# Past the limit (1024 changed rules): the new base's thread kills the daemon once it is made,
# whether or not the write has returned by then.
cp "$T/r1" "$M/policy/acl.d/r1" 2>/dev/null
wait "$fgpid"; rc=$?; fgpid=
check "the daemon was killed in the new base's thread (status $rc)" test "$rc" = 137
check "the change is committed" sh -c "git -C '$S' log -1 --format=%s main | grep -q '^policy/acl.d/r1: created (1101 rules)'"
fusermount3 -u -z "$M" 2>/dev/null
mount_with ""
settled "remount after the kill"
check "the committed rules are in force" is_code 401 /probe2/x
check "and the others" is_code 401 /a/x
printf 'regular * GET /probe3/* deny\n' >>"$M/policy/acl.d/r1" || bad "append after the kill"
settled "a change after the kill"
check "the change after is enforced" is_code 401 /probe3/x
head=$(git -C "$S" rev-parse --short=12 main)
check "the host's record names the last change" sh -c \
    "git -C '$S' log -1 --format=%B refs/unisec/deployed/local | grep -q '$head'"
fusermount3 -u "$M" || bad "unmount"
wait "$fgpid"; fgpid=
echo "policy_faults: $pass passed, $fail failed"
[ "$fail" = 0 ] || { echo "--- the daemon's log:"; tail -n 40 "$T/daemon.log"; exit 1; }
