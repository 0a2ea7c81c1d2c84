#!/bin/sh
# tests/orch/people_patch.sh — a change of users, groups or credentials in a running policy,
# for real (a mount, a web instance on spt, curl), in push, pull and internal mode: carol
# added to a group, carol's password rotated and bob taken out of the group through the mount
# each give the new decision and the new authentication over HTTP, and each goes as a patch of
# those users over the base in force (the daemon's log, the metrics' count of bases compiled,
# push events and the guest's console), never as a new whole blob; removing a group a rule
# names is refused; `unisec verify` checks the internal images' patches of users. Skips (77)
# without /dev/fuse, curl, git or ssh-keygen.
set -u
cd "$UNISEC_SRCDIR" || exit 1
. tests/lib.sh
U=$UNISEC
need fusermount3 curl git python3 ssh-keygen
one_mount
W=$M/nodes/web
export UNISEC_CACHE_DIR=${UNISEC_TEST_CACHE:-$T/cache}

# expect CODE WHAT PATH [USER:PASSWORD]: the status web answers a GET of PATH with.
expect() {
    if [ $# -gt 3 ]; then
        got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 -u "$4" "http://127.0.0.1:$P$3")
    else
        got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 "http://127.0.0.1:$P$3")
    fi
    if [ "$got" = "$1" ]; then ok; else bad "$mode: $2: got $got, expected $1"; fi
}
logs() { cat "$T/daemon.log" "$S/.git/unisec.log" 2>/dev/null; }
# bases: the policy bases compiled whole so far, in a change's write or on the side (metrics).
bases() { grep '^unisec_policy_bases_total{' "$M/metrics" | awk '{n += $2} END {print n + 0}'; }
# patched WHAT: one more log line of a users' change patched over a base than before it.
patched() {
    n=$(logs | grep -c "policy .* users, groups or credentials changed, patched over v")
    if [ "$n" -gt "$patches" ]; then ok; else bad "$mode: $1: no patch of the users logged"; fi
    patches=$n
}

mkdir -p "$T/pol/acl.d"
cp mount-examples/policy/credentials "$T/pol/"
printf 'staff: alice bob\n' >"$T/pol/groups"
printf 'regular * GET /* allow\n' >"$T/pol/acl"
printf 'regular group:staff GET /staff/* allow\nregular * GET /staff/* deny\n' >"$T/pol/acl.d/10-staff"
ssh-keygen -q -t ed25519 -N '' -C daemon -f "$T/daemon"
echo "unisec@example.org $(cat "$T/daemon.pub")" >"$T/allowed_signers"
# A password for carol that the examples do not hold, made as an operator makes one.
newline=$(printf 'carol-new-password\n' | "$U" acl passwd --iterations=1000 carol) ||
    bad "acl passwd"

for mode in push pull internal; do
    rm -rf "$S" "$T/daemon.log"
    P=$(freeport)
    web_topology "$mode" "$P" >"$T/topo.yaml"
    check "$mode: init" "$U" init "$S" --from "$T/topo.yaml" --policy-dir "$T/pol" --signing-key "$T/daemon"
    git -C "$S" config gpg.ssh.allowedSignersFile "$T/allowed_signers"
    check "$mode: the mount is served" mount_up -o target=spt
    settled "$mode: mount"
    patches=$(logs | grep -c "patched over v")
    bases0=$(bases)
    expect 200 "bob in staff" /staff/x bob:bob-demo-password
    expect 403 "carol not in staff" /staff/x carol:carol-demo-password

    # ---- carol added to the group ----
    printf 'staff: alice bob carol\n' >"$M/policy/groups" || bad "$mode: writing policy/groups"
    settled "$mode: carol added"
    expect 200 "carol added to staff" /staff/x carol:carol-demo-password
    patched "carol added"

    # ---- carol's password rotated ----
    grep -v '^carol:' "$M/policy/credentials" >"$T/creds"
    echo "$newline" >>"$T/creds"
    cp "$T/creds" "$M/policy/credentials" || bad "$mode: writing policy/credentials"
    settled "$mode: password rotated"
    expect 401 "carol's old password refused" /staff/x carol:carol-demo-password
    expect 200 "carol's new password taken" /staff/x carol:carol-new-password
    expect 200 "bob untouched" /staff/x bob:bob-demo-password
    patched "password rotated"

    # ---- bob taken out ----
    printf 'staff: alice carol\n' >"$M/policy/groups" || bad "$mode: writing policy/groups again"
    settled "$mode: bob taken out"
    expect 403 "bob out of staff" /staff/x bob:bob-demo-password
    expect 200 "anyone still reads the rest" /other
    patched "bob taken out"

    # ---- a group a rule names cannot go ----
    refuse "$mode: the group the rules name cannot be removed" sh -c "printf 'admins: alice\n' >'$M/policy/groups'"
    check "$mode: the refusal names the rule's file" grep -q "acl.d/10-staff" "$M/errors"
    expect 200 "carol still in staff" /staff/x carol:carol-new-password

    if [ "$mode" = push ]; then
        check "push: sent as patches" sh -c "[ \$(grep -c 'web: policy regular v[0-9]* pushed as a patch over v' '$M/events') -ge 3 ]"
        check "push: the guest took patches" grep -q "acl_pep: policy version [0-9]* in force (patch over v" "$W/console"
        # (the first version may come whole twice as the instance starts)
        check "push: no whole blob after the first version" sh -c "! grep 'in force (whole blob' '$W/console' | grep -qv 'policy version 1 in force'"
    fi
    check "$mode: no base compiled again" sh -c "! grep -q 'new base' '$T/daemon.log'"
    b=$(bases)
    [ "$b" = "$bases0" ] && ok || bad "$mode: $((b - bases0)) policy bases compiled by the changes (metrics)"
    check "$mode: no secret in the daemon's log" sh -c "! grep -q 'carol-new-password\|pbkdf2-sha256:' '$T/daemon.log'"
    check "$mode: unmount" fusermount3 -u "$M"
    wait "$fgpid"
    fgpid=
    check "$mode: the daemon's log has no sanitizer report" sh -c "! grep -q 'Sanitizer' '$T/daemon.log'"
    # An internal image of a base and a patch of users: `unisec verify` rebuilds it, its patch
    # checked to carry exactly the users that differ between the base's commit and its own.
    if [ "$mode" = internal ]; then
        if "$U" verify --store "$S" >"$T/out" 2>&1; then ok; else bad "internal: unisec verify: $(tail -n 5 "$T/out")"; fi
        check "internal: verify checked the patches of users" grep -q "its base rebuilt, its patch checked" "$T/out"
    fi
done

echo "people_patch: $pass passed, $fail failed"
[ "$fail" = 0 ] || { echo "--- daemon log"; tail -n 40 "$T/daemon.log"; }
[ "$fail" = 0 ]
