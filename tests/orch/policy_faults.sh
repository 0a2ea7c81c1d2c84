#!/bin/sh
# tests/orch/policy_faults.sh — a policy change when something goes wrong, for real (a mount, a
# running instance in push mode, HTTP), with the daemon built with the tests' faults
# (tests/orch/fault.c, engine/fault.h):
# - a patch damaged on its way: the instance refuses it and keeps its rules, asking for the
#   whole blob; the daemon sends the whole blob with the patch again in one message, and the
#   change is enforced;
# - the daemon killed (SIGKILL) once a change of policy/acl.d is committed, before anything is
#   served or pushed: its instances die with it (no orphan); mounted again, the instance runs
#   the committed rules and the host's record names that commit;
# - the daemon killed while a change past the policy index's limit has its new base compiled on
#   the side, before any change takes it over, or once it is taken over to be delivered, before
#   it is pushed: mounted again, the committed rules are in force and the next change too;
# - a new base ready with no change since is pushed whole as a version of its own, and the next
#   one-rule change goes as a patch over it.
# Skips (77) without /dev/fuse, curl or git.
set -u
cd "$UNISEC_SRCDIR" || exit 1
. tests/lib.sh
need fusermount3 curl git python3
. tests/orch/push_lib.sh
push_begin
R=$M/policy/acl.d/r0

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
# After the refusal: the whole blob and the patch over it, in force at once.
check "then the whole blob and the patch are in force" sh -c \
    "sed -n '/refused policy version/,\$p' '$W/console' | grep -q 'in force (whole blob and patch over v'"
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

# many FILE PROBE: FILE's text: a rule denying PROBE and 1100 more, past the index's limit.
many() {
    python3 -c 'import sys
sys.stdout.write("regular * GET /%s/* deny\n" % sys.argv[1])
sys.stdout.write("".join("regular * GET /many/%s/%d/* deny\n" % (sys.argv[1], i) for i in range(1100)))' "$2" >"$1"
}
# killed_past_limit FAULT NAME PROBE WHERE: mounted with FAULT, policy/acl.d/NAME written past the
# index's limit kills the daemon at FAULT (WHERE says where); mounted again, the committed rules
# are in force and so is the change after.
killed_past_limit() {
    mount_with "$1"
    settled "remount with the $1 fault"
    many "$T/$2" "$3"
    # The thread that kills may do so before the write returns, or after.
    cp "$T/$2" "$M/policy/acl.d/$2" 2>/dev/null
    wait "$fgpid"; rc=$?; fgpid=
    check "the daemon was killed $4 (status $rc)" test "$rc" = 137
    check "the change is committed" sh -c "git -C '$S' log -1 --format=%s main | grep -q '^policy/acl.d/$2: created (1101 rules)'"
    fusermount3 -u -z "$M" 2>/dev/null
    mount_with ""
    settled "remount after the kill at $1"
    check "the committed rules are in force" is_code 401 "/$3/x"
    check "and the others" is_code 401 /a/x
    printf 'regular * GET /%s-after/* deny\n' "$3" >>"$M/policy/acl.d/$2" || bad "append after the kill"
    settled "a change after the kill at $1"
    check "the change after is enforced" is_code 401 "/$3-after/x"
    head=$(git -C "$S" rev-parse --short=12 main)
    check "the host's record names the last change" sh -c \
        "git -C '$S' log -1 --format=%B refs/unisec/deployed/local | grep -q '$head'"
}

# ---- killed while a new base is compiled on the side -----------------------------------------
killed_past_limit rebase r1 probe2 "in the new base's thread"

# ---- a new base delivered once ready: the next change is a patch over it ---------------------
# (the daemon mounted last by killed_past_limit, without faults)
# metric NAME: its value in the mount's metrics.
metric() { awk -v n="$1" '$1 == n { print $2 }' "$M/metrics"; }
n0=$(wc -l <"$M/events")
w0=$(metric 'unisec_policy_bases_total{where="write"}')
check "the metrics count bases compiled in a write" test -n "$w0"
many "$T/r2" probe4
cp "$T/r2" "$M/policy/acl.d/r2" || bad "write past the limit"
settled "past the limit"
check "the new base is taken over once ready" wait_for 60 grep -q "policy regular: new base v[0-9]* taken over" "$T/daemon.log"
nb=$(sed -n 's/.*policy regular: new base v\([0-9]*\) taken over.*/\1/p' "$T/daemon.log" | tail -n 1)
check "and pushed to the instance whole, as v$nb of its own" wait_for 20 sh -c \
    "tail -n +$((n0 + 1)) '$M/events' | grep -q 'web: policy regular v$nb pushed ('"
check "the instance acknowledged v$nb" wait_for 20 grep -q "policy v$nb acked" "$W/status"
settled "the new base delivered"
check "its rules are in force" is_code 401 /probe4/x
d=$(metric unisec_policy_bases_delivered_total)
sd=$(metric 'unisec_policy_bases_total{where="side"}')
check "the metrics count it delivered ($d)" test "${d:-0}" -ge 1
check "and compiled on the side ($sd)" test "${sd:-0}" -ge 1
check "and no base compiled in a write" test "$(metric 'unisec_policy_bases_total{where="write"}')" = "$w0"
n1=$(wc -l <"$M/events")
printf 'regular * GET /probe5/* deny\n' >>"$M/policy/acl.d/r2" || bad "append one rule"
settled "one rule over the new base"
check "the one-rule change is enforced" is_code 401 /probe5/x
check "and went to the instance as a patch over v$nb" sh -c \
    "tail -n +$((n1 + 1)) '$M/events' | grep -q 'web: policy regular v[0-9]* pushed as a patch over v$nb'"
check "not as the whole blob, nor refused" sh -c \
    "! tail -n +$((n1 + 1)) '$M/events' | grep -q 'web: policy regular v[0-9]* pushed (\|refused'"
fusermount3 -u "$M" || bad "unmount"
wait "$fgpid"; fgpid=

# ---- killed once a new base is taken over to be delivered, before it is pushed ---------------
killed_past_limit rebase-deliver r3 probe6 "delivering the new base"
fusermount3 -u "$M" || bad "unmount"
wait "$fgpid"; fgpid=
echo "policy_faults: $pass passed, $fail failed"
[ "$fail" = 0 ] || { echo "--- the daemon's log:"; tail -n 40 "$T/daemon.log"; exit 1; }
