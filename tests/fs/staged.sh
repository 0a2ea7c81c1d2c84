#!/bin/sh
# tests/fs/staged.sh — an operator's `git rm` or `git add` in the store's work tree, then their
# `git commit` a while later: the mount leaves the staged change to that commit for its grace
# (fs/MOUNT.md, "Changes made in the store from outside"), so the commit succeeds with the
# operator's message and author, and the mount serves it; a write through the mount meanwhile
# keeps the staged change; a staged change never committed is taken in as an edit after the
# grace. A real mount, --no-run. Skips (77) without /dev/fuse or git.
set -u
cd "$UNISEC_SRCDIR" || exit 1
. tests/lib.sh
U=$UNISEC
need fusermount3 git python3
one_mount
GIT="git -C $S -c user.name=Olga -c user.email=olga@example.org"
D=$M/policy/acl.d

# committed MSG PATH: main's head is the operator's commit MSG, touching PATH alone.
committed() {
    check "$1: main's head has the operator's message" test "$(git -C "$S" log -1 --format=%s main)" = "$1"
    check "$1: and author" test "$(git -C "$S" log -1 --format='%an <%ae>' main)" = "Olga <olga@example.org>"
    check "$1: it touches $2 alone" test "$(git -C "$S" show --name-only --format= main)" = "$2"
    check "$1: the mount made no commit of the edit" \
        sh -c "! git -C '$S' log --format=%s main | grep -q \"edited in the store's work tree\""
}
# stage PATH TEXT: PATH staged holding TEXT, then written to the work tree from the index: the
# mount never sees the edit unstaged (an editor's save before `git add` is an edit, taken at
# once).
stage() {
    printf '%s\n' "$2" >"$T/blob"
    $GIT update-index --add --cacheinfo "100644,$(git -C "$S" hash-object -w "$T/blob"),$1" &&
        $GIT checkout-index -f -- "$1" && $GIT add -- "$1"
}

sed 's/policy: restricted/policy: regular/' mount-examples/paper.yaml >"$T/topo.yaml"
mkdir -p "$T/pol/acl.d"
cp mount-examples/policy/groups mount-examples/policy/credentials "$T/pol/"
printf 'regular * GET /* allow\n' >"$T/pol/acl"
for f in 10-a 20-b 30-c; do printf 'regular * GET /%s/* deny\n' "$f" >"$T/pol/acl.d/$f"; done
check "init" "$U" init "$S" --from "$T/topo.yaml" --policy-dir "$T/pol"
check "the mount is served" mount_up --no-run

# ---- git rm, a pause longer than the watcher's quiet, git commit ---------------------------------
check "git rm" $GIT rm -q policy/acl.d/10-a
sleep 0.5
# A write through the mount meanwhile commits its own file and keeps the staged removal.
check "a level write meanwhile" sh -c "echo critical >'$M/nodes/web/security_level'"
echo 'regular * GET /x allow' >"$D/10-a" 2>/dev/null # the shell's echo ignores close's error
check "a write of the staged path is refused (uncommitted edits)" \
    grep -q "refused policy/acl.d/10-a (EBUSY)" "$M/events"
check "the removal is still staged" sh -c "! git -C '$S' ls-files --error-unmatch policy/acl.d/10-a"
check "git commit succeeds" $GIT commit -q -m "drop 10-a: the route is gone"
committed "drop 10-a: the route is gone" policy/acl.d/10-a
check "the mount serves the removal" wait_for 20 sh -c "! test -e '$D/10-a'"
check "the level written meanwhile stays" grep -qx critical "$M/nodes/web/security_level"

# ---- git add of an edited file, a pause, git commit --------------------------------------------
check "git add of an edit" stage policy/acl.d/20-b 'regular * GET /b2/* deny'
sleep 0.5
check "git commit succeeds" $GIT commit -q -m "20-b: deny /b2"
committed "20-b: deny /b2" policy/acl.d/20-b
check "the mount serves the edit" wait_for 20 grep -q '/b2/' "$D/20-b"

# ---- a staged change never committed: taken in after the grace -----------------------------------
before=$(commits) # (wait_for uses n)
check "git rm, never committed" $GIT rm -q policy/acl.d/30-c
check "taken in as an edit after the grace" wait_for 20 sh -c \
    "git -C '$S' log -1 --format=%s main | grep -qx \"policy/acl.d/30-c: edited in the store's work tree\""
check "one commit" test "$(commits)" = $((before + 1))
check "the mount serves the removal" wait_for 20 sh -c "! test -e '$D/30-c'"
check "the store's work tree and index are clean" test -z "$(git -C "$S" status --porcelain)"

fusermount3 -u "$M"; wait "$fgpid"; fgpid=
refuse "the daemon's log has no sanitizer report" grep -q Sanitizer "$T/daemon.log"
echo "staged: $pass passed, $fail failed"
[ "$fail" = 0 ]
