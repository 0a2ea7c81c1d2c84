#!/bin/sh
# tests/orch/internal_rules.sh — an internal PDP's rule change through the mount on spt, for
# real: a rules file made in policy/acl.d and a line appended to policy/acl each give a new
# image (the level's linked code, the index's base and a patch), swapped in, whose decision an
# HTTP client sees; removing the file, and `git revert` of the line in the store, bring the old
# decision back. Then a change of more rules than a 64th of the base's (at least 1024) passes the
# policy index's limit: its new base is compiled on the orchestrator's side (the daemon's log
# says so), is taken over once ready (the instance keeps its image: the same rules), the next
# change's image links it and a patch and is enforced, and `unisec verify` rebuilds every
# recorded image, that one's base from the commit of its version. Skips (77) without /dev/fuse,
# curl, git or ssh-keygen.
set -u
cd "$UNISEC_SRCDIR" || exit 1
. tests/lib.sh
U=$UNISEC
need fusermount3 curl git ssh-keygen python3
one_mount
W=$M/nodes/web
D=$M/policy/acl.d
export UNISEC_CACHE_DIR=${UNISEC_TEST_CACHE:-$T/cache}
GIT="git -C $S -c user.name=unisec -c user.email=unisec@example.org"

# expect CODE WHAT: the status an anonymous GET /probe/x gets from web, on a new connection.
expect() {
    got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 "http://127.0.0.1:$P/probe/x")
    if [ "$got" = "$1" ]; then ok; else bad "$2: got $got, expected $1"; fi
}
# logged TEXT: the daemon's log has a line matching TEXT.
logged() { grep -q "$1" "$T/daemon.log" "$S/.git/unisec.log" 2>/dev/null; }
pid() { sed -n 's/.* pid \([0-9]*\) .*/\1/p' "$W/status"; }

P=$(freeport)
web_topology internal "$P" >"$T/topo.yaml"
mkdir -p "$T/pol/acl.d"
cp mount-examples/policy/groups mount-examples/policy/credentials "$T/pol/"
printf 'regular * GET /* allow\n' >"$T/pol/acl"
printf 'regular group:staff POST /orders/* allow\n' >"$T/pol/acl.d/10-orders"
ssh-keygen -q -t ed25519 -N '' -C daemon -f "$T/daemon"
echo "unisec@example.org $(cat "$T/daemon.pub")" >"$T/allowed_signers"

check "init" "$U" init "$S" --from "$T/topo.yaml" --policy-dir "$T/pol" --signing-key "$T/daemon"
git -C "$S" config gpg.ssh.allowedSignersFile "$T/allowed_signers"
check "the mount is served" mount_up -o target=spt
settled "mount"
check "web runs on spt with an internal PDP" grep -q "running .* pdp internal" "$W/status"
expect 200 "before any change"
pid0=$(pid)

# ---- a rules file made, then removed, through the mount ------------------------------------
echo 'regular * GET /probe/* deny' >"$D/50-probe" || bad "writing policy/acl.d/50-probe"
settled "a rules file made"
expect 401 "the new file's rule is enforced"
pid1=$(pid)
check "by a new instance, swapped in" test -n "$pid1" -a "$pid1" != "$pid0"
check "its image is the base and a patch, no compiler or linker run" grep -q "linked before (no compiler or linker run)" "$W/image/build.log"
check "its record names the base" sh -c "$GIT show refs/unisec/deployed/local:state/deployed | grep -q '^web .* base=[0-9]* base_commit=[0-9a-f]\{40\}'"
rm "$D/50-probe" || bad "rm policy/acl.d/50-probe"
settled "the rules file removed"
expect 200 "the file removed: the old decision again"
check "by another instance" test "$(pid)" != "$pid1"

# ---- a line appended to policy/acl, then git revert in the store ---------------------------
echo 'regular * GET /probe/* deny' >>"$M/policy/acl" || bad "appending to policy/acl"
settled "a line appended"
expect 401 "the appended line is enforced"
c=$($GIT log --format=%H -1 -- policy/acl)
$GIT -c gpg.format=ssh -c user.signingkey="$T/daemon" revert -S --no-edit "$c" >/dev/null 2>&1 || bad "git revert"
check "the mount serves the reverted policy" wait_for 20 sh -c "! grep -q probe '$M/policy/acl'"
settled "the revert"
expect 200 "git revert: the old decision again"

# ---- past the index's limit: a new base compiled on the side, taken over -------------------
python3 -c 'import sys
sys.stdout.write("".join("regular * GET /many/r%d/* deny\n" % i for i in range(1100)))' >"$D/60-many" ||
    bad "writing 1100 rules"
settled "1100 rules"
pid2=$(pid)
check "the new base is compiled on the side" wait_for 60 logged "policy regular: new base v[0-9]* compiled on the side"
check "and taken over once ready, with no change since" wait_for 60 logged "policy regular: new base v[0-9]* taken over at v[0-9]*"
settled "the new base taken over"
nb=$(sed -n 's/.*policy regular: new base v\([0-9]*\) taken over.*/\1/p' "$T/daemon.log" | tail -n 1)
check "the new base's version is logged (v$nb)" test -n "$nb"
check "the instance keeps its image (the same rules): no image of the new base alone" test "$(pid)" = "$pid2"
expect 200 "1100 rules more: still allowed"
echo 'regular * GET /probe/* deny' >"$D/50-probe" || bad "writing policy/acl.d/50-probe again"
settled "the change after"
check "the next change's image is the new base v$nb and a patch" \
    grep -q "\"policy_base_version\": *$nb\b" "$W/image/manifest.json"
expect 401 "the change over the new base is enforced"
rm "$D/50-probe" || bad "rm policy/acl.d/50-probe again"
settled "removed again"
expect 200 "removed again: the old decision"

check "unmount" fusermount3 -u "$M"
wait "$fgpid"
fgpid=
check "the daemon's log has no sanitizer report" sh -c "! grep -q 'Sanitizer' '$T/daemon.log'"
if "$U" verify --store "$S" >"$T/out" 2>&1; then ok; else bad "unisec verify: $(tail -n 5 "$T/out")"; fi
check "verify rebuilt patched images, their bases from their commits" grep -q "its base rebuilt, its patch checked" "$T/out"
# Each rules file is parsed once while consecutive commits hold its blob: fewer parses than the
# rules files of every record's commit (and of its base) would take.
parsed=$(sed -n 's/.*; \([0-9]*\) rules files parsed.*/\1/p' "$T/out")
records=$(sed -n 's/.*; \([0-9]*\) deployment records.*/\1/p' "$T/out")
check "verify parsed each rules file once while commits in a row held it ($parsed files, $records records)" \
    test -n "$parsed" -a -n "$records" -a "${parsed:-0}" -lt "$((${records:-0} * 2))"

echo "internal_rules: $pass passed, $fail failed"
[ "$fail" = 0 ] || { echo "--- daemon log"; tail -n 40 "$T/daemon.log"; }
[ "$fail" = 0 ]
