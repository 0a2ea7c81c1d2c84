#!/bin/sh
# tests/orch/base_pair.sh — a policy change that comes while a new base is compiled on the side,
# for real (a mount, a running instance in push mode, HTTP), with the daemon built with the
# tests' faults (tests/orch/fault.c): "rebase-slow" makes the side compile take 4 s more, so a
# change lands during it. The change after the compile takes the new base over, whose rules
# are those of the crossing, older than the version the instance acknowledged; the instance must
# go from that version straight to the new one (the base and the patch in one message):
# - a deny added while the base compiled is never answered 200 meanwhile (curl polls it);
# - the versions the instance puts in force (its console) and acknowledges (the node's status)
#   never go back;
# - killed before that message is pushed ("pair"), the daemon mounted again runs the committed
#   rules and the next change.
# Skips (77) without /dev/fuse, curl or git.
set -u
cd "$UNISEC_SRCDIR" || exit 1
. tests/lib.sh
need fusermount3 curl git python3
. tests/orch/push_lib.sh
export UNISEC_TEST_FAULT_MS=4000
# many FILE PROBE: a rule denying PROBE and 1100 more, past the index's limit.
many() {
    python3 -c 'import sys
sys.stdout.write("regular * GET /%s/* deny\n" % sys.argv[1])
sys.stdout.write("".join("regular * GET /many/%s/%d/* deny\n" % (sys.argv[1], i) for i in range(1100)))' "$2" >"$1"
}
# rising FILE: the numbers of FILE's lines, in order, never go down.
rising() { awk 'NF { if ($1 + 0 < last) exit 1; last = $1 + 0 }' "$1"; }
compiled() { grep -c "policy regular: new base v[0-9]* compiled on the side" "$T/daemon.log"; }

push_begin

# ---- a change during the side compile; the next one takes the base over ----------------------
mount_with rebase-slow
settled "start"
check "web answers before the changes" is_code 200 /d1/x
c0=$(compiled)
many "$T/r1" probe1
cp "$T/r1" "$M/policy/acl.d/r1" || bad "write past the limit"
settled "past the limit"
check "the crossing is enforced" is_code 401 /probe1/x
e1=$(wc -l <"$M/events")
printf 'regular * GET /d1/* deny\n' >>"$M/policy/acl.d/r1" || bad "append during the compile"
settled "a change during the compile"
check "the change during the compile is enforced" is_code 401 /d1/x
check "it landed while the base compiled" test "$(compiled)" = "$c0"
check "and went as a patch alone" sh -c \
    "tail -n +$((e1 + 1)) '$M/events' | grep -q 'web: policy regular v[0-9]* pushed as a patch over v' &&
     ! grep -q 'in one message' '$M/events'"
n0=$(wc -l <"$W/console")
e0=$(wc -l <"$M/events")
# Polled from here on: /d1/x's answers, and the acknowledged versions.
: >"$T/codes"; : >"$T/acks"
(
    while [ ! -f "$T/stop" ]; do
        code /d1/x >>"$T/codes"; echo >>"$T/codes"
        sed -n 's/.* policy v\([0-9]*\) acked.*/\1/p' "$W/status" >>"$T/acks"
    done
) &
pollpid=$!
check "the new base is compiled" wait_for 60 sh -c "test \$(grep -c 'policy regular: new base v[0-9]* compiled on the side' '$T/daemon.log') -gt $c0"
printf 'regular * GET /d2/* deny\n' >>"$M/policy/acl.d/r1" || bad "append after the compile"
settled "the change that takes the base over"
check "the change after is enforced" is_code 401 /d2/x
sleep 1
touch "$T/stop"; wait "$pollpid"; pollpid=
check "the base was taken over" grep -q "policy regular: new base v[0-9]* taken over" "$T/daemon.log"
check "and went with the patch in one message" sh -c \
    "tail -n +$((e0 + 1)) '$M/events' | grep -q 'web: policy regular v[0-9]* pushed as the whole blob v[0-9]* and the patch over it in one message'"
check "not as the whole base alone" sh -c \
    "! tail -n +$((e0 + 1)) '$M/events' | grep -q 'web: policy regular v[0-9]* pushed ('"
check "the instance put both in force at once" sh -c \
    "tail -n +$((n0 + 1)) '$W/console' | grep -q 'in force (whole blob and patch over v'"
check "/d1/x was polled during the takeover ($(grep -c . "$T/codes") answers)" test "$(grep -c . "$T/codes")" -ge 5
check "and never answered 200 ($(grep . "$T/codes" | sort | uniq -c | tr '\n' ' '))" sh -c "! grep -q '^200\$' '$T/codes'"
check "it was always denied" sh -c "! grep . '$T/codes' | grep -qv '^401\$'"
sed -n 's/.*acl_pep: policy version \([0-9]*\) in force.*/\1/p' "$W/console" >"$T/versions"
check "the versions in force never went back ($(tr '\n' ' ' <"$T/versions"))" rising "$T/versions"
check "nor the acknowledged ones ($(uniq "$T/acks" | tr '\n' ' '))" rising "$T/acks"
check "no version was refused" sh -c "! grep -q 'refused policy version' '$W/console'"
nb=$(sed -n 's/.*policy regular: new base v\([0-9]*\) taken over.*/\1/p' "$T/daemon.log" | tail -n 1)
e1=$(wc -l <"$M/events")
printf 'regular * GET /d2b/* deny\n' >>"$M/policy/acl.d/r1" || bad "append after the takeover"
settled "a change after the takeover"
check "the change after the takeover is enforced" is_code 401 /d2b/x
check "and went as a patch alone over the new base v$nb" sh -c \
    "tail -n +$((e1 + 1)) '$M/events' | grep -q 'web: policy regular v[0-9]* pushed as a patch over v$nb' &&
     ! tail -n +$((e1 + 1)) '$M/events' | grep -q 'in one message\|pushed ('"
fusermount3 -u "$M" || bad "unmount"
wait "$fgpid"; fgpid=

# ---- killed before the base and the patch are pushed -----------------------------------------
mount_with rebase-slow,pair
settled "remount with the pair fault"
c0=$(compiled)
many "$T/r2" probe2
cp "$T/r2" "$M/policy/acl.d/r2" || bad "write past the limit"
settled "past the limit again"
printf 'regular * GET /d3/* deny\n' >>"$M/policy/acl.d/r2" || bad "append during the compile"
settled "a change during the compile"
check "the new base is compiled" wait_for 60 sh -c "test \$(grep -c 'policy regular: new base v[0-9]* compiled on the side' '$T/daemon.log') -gt $c0"
printf 'regular * GET /d4/* deny\n' >>"$M/policy/acl.d/r2" 2>/dev/null
wait_for 60 sh -c "! kill -0 $fgpid" || { bad "the daemon was not killed at the pair fault"; kill "$fgpid"; }
wait "$fgpid"; rc=$?; fgpid=
check "the daemon was killed before the push (status $rc)" test "$rc" = 137
check "the change is committed" sh -c "git -C '$S' show main:policy/acl.d/r2 | grep -q '/d4/'"
fusermount3 -u -z "$M" 2>/dev/null
mount_with ""
settled "remount after the kill"
check "the committed rules are in force" is_code 401 /d4/x
check "and the ones before" is_code 401 /d3/x
printf 'regular * GET /d5/* deny\n' >>"$M/policy/acl.d/r2" || bad "append after the kill"
settled "a change after the kill"
check "the change after is enforced" is_code 401 /d5/x
head=$(git -C "$S" rev-parse --short=12 main)
check "the host's record names the last change" sh -c \
    "git -C '$S' log -1 --format=%B refs/unisec/deployed/local | grep -q '$head'"
fusermount3 -u "$M" || bad "unmount"
wait "$fgpid"; fgpid=
echo "base_pair: $pass passed, $fail failed"
[ "$fail" = 0 ] || { echo "--- the daemon's log:"; tail -n 40 "$T/daemon.log"; exit 1; }
