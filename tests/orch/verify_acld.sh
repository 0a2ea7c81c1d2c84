#!/bin/sh
# tests/orch/verify_acld.sh — `unisec verify` and the mount agree on policy/acl.d: a record
# whose commit holds there what the mount refuses (a symbolic link, whose blob is its target's
# name; a directory; and in policy/acl, a file past the mount's bound, never read) is flagged,
# naming the entry and why, as the mount's errors name it. A real history (a store with a
# signing key, mounted on spt, a level switched to the internal PDP's), then a signed commit of
# main with such an entry and a signed record realising it.
# Skips (77) without /dev/fuse, git or ssh-keygen.
set -u
cd "$UNISEC_SRCDIR" || exit 1
. tests/lib.sh
need fusermount3 git ssh-keygen python3
. tests/orch/verify_lib.sh
one_mount
R=refs/unisec/deployed/local
verify_begin
check "the mount is served" mount_up --target spt
settled "start"
echo critical >"$M/nodes/web/security_level"
settled "at critical"
check "unmount" fusermount3 -u "$M"
wait "$fgpid"; fgpid=
rec=$(git -C "$S" log --format=%H -1 --grep='^deploy: web -> .*(critical, internal' $R)
check "the switch's deployment is recorded" test -n "$rec"
check "unisec verify holds on the good history" "$U" verify --store "$S"
good=$(git -C "$S" rev-parse HEAD)
goodrec=$(git -C "$S" rev-parse $R)
target=$(git -C "$S" log -1 --format=%B "$rec" | sed -n 's/^Target: //p')

# forged WHAT: alice commits (signed) what is staged on main, then a signed record on the
# host's ref realising that commit with the switch's record (its tree); verify names the
# record, the entry and why.
forged() {
    $GIT $SIGN commit -S -q -m "$1"
    printf 'deploy: web -> image (critical, internal v1)\n\nRealises-commit: %s\nTarget: %s\n' \
        "$(git -C "$S" rev-parse HEAD)" "$target" >"$T/msg"
    c=$($GIT $SIGN commit-tree -S -p $R -F "$T/msg" "$(git -C "$S" rev-parse "$rec^{tree}")")
    git -C "$S" update-ref $R "$c"
}
restore() {
    git -C "$S" reset -q --hard "$good"
    git -C "$S" clean -q -fdx policy
    git -C "$S" update-ref $R "$goodrec"
}

# A symbolic link named as a rule: read as its target's name it would be one.
mkdir -p "$S/policy/acl.d"
ln -s 'restricted * GET /zz allow' "$S/policy/acl.d/zz"
git -C "$S" add policy/acl.d/zz
forged "a rules file that is a symbolic link"
fails_naming "a record whose commit holds a link in policy/acl.d" "record $(git -C "$S" rev-parse $R)" \
    "policy/acl.d/zz: error: not a rules file: a symbolic link"
restore

# A directory of rules files, which the mount refuses and verify skipped.
mkdir -p "$S/policy/acl.d/sub"
printf 'restricted * GET /zz allow\n' >"$S/policy/acl.d/sub/zz"
git -C "$S" add policy/acl.d/sub/zz
forged "a directory in policy/acl.d"
fails_naming "a record whose commit holds a directory in policy/acl.d" "record $(git -C "$S" rev-parse $R)" \
    "policy/acl.d/sub: error: not a rules file: a directory"
restore
# A policy file past the mount's bound (64 MiB): refused before it is read.
head -c 67108865 /dev/zero | tr '\0' '#' >"$S/policy/acl"
git -C "$S" add policy/acl
forged "a policy/acl of 64 MiB and a byte"
fails_naming "a record whose commit holds a policy/acl past its bound" "record $(git -C "$S" rev-parse $R)" \
    "policy/acl: error: 67108865 bytes, more than the 67108864"
restore
check "unisec verify holds again on the good history" "$U" verify --store "$S"
refuse "the daemon's log has no sanitizer report" grep -q Sanitizer "$T/daemon.log"
echo "verify_acld: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
