#!/bin/sh
# tests/fs/times.sh — each file's mtime is the time of the commit that last changed it
# (fs/MOUNT.md, "Times and watchers"): at the mount, from the store's history (commits made
# with git under chosen dates); then from the changes the mount commits itself; and the files
# derived from a node's level, the topology and the policy take the latest of theirs, so
# `find -newer` tells which nodes a change touched. --no-run: nothing is built. Skips (77)
# without /dev/fuse, fusermount3 or git.
set -u
cd "$UNISEC_SRCDIR" || exit 1
. tests/lib.sh
need fusermount3 git

U=$UNISEC
one_mount

# at PATH DATE: the file's mtime in the mount is DATE (git's ISO form, UTC).
at() {
    got=$(TZ=UTC date -d "@$(stat -c %Y "$M/$1")" '+%Y-%m-%d %H:%M:%S')
    [ "$got" = "$2" ] && ok || bad "$1: mtime $got, expected $2"
}
# commit DATE MESSAGE: commits the store's work tree as of DATE (UTC).
commit() {
    GIT_AUTHOR_DATE="$1 +0000" GIT_COMMITTER_DATE="$1 +0000" git -C "$S" commit -qam "$2"
}
mount_store() { check "the mount is served" mount_up --no-run; }
unmount_store() {
    check "unmount" fusermount3 -u "$M"
    wait "$fgpid" 2>/dev/null
    fgpid=
}

check "init" "$U" init "$S" --from mount-examples/paper.yaml --policy-dir mount-examples/policy
# The first commit dated back too, so that the dates below are later than it.
T0="2019-06-01 00:00:00"
GIT_COMMITTER_DATE="$T0 +0000" git -C "$S" commit -q --amend --no-edit --date="$T0 +0000"
sed -i 's/^web default$/web critical/' "$S/state/levels"
commit "2020-01-02 03:04:05" "web critical"
echo "web http_port 9090" >>"$S/state/properties"
commit "2020-02-02 00:00:00" "web's port"
echo "regular * GET /times/* deny" >>"$S/policy/acl"
commit "2020-03-03 00:00:00" "an ACL line"

mount_store
at history "2020-03-03 00:00:00"
at topology.yaml "$T0"
at policy/acl "2020-03-03 00:00:00"
at policy/groups "$T0"
at nodes/web/security_level "2020-01-02 03:04:05"
at nodes/portal/security_level "$T0"
at nodes/web/properties/http_port "2020-02-02 00:00:00"
at nodes/web/properties/routes "$T0"
at nodes/portal/properties/listen_port "$T0"
at nodes/web/modules "2020-01-02 03:04:05"
at nodes/portal/modules "$T0"
at nodes/web/acl "2020-03-03 00:00:00"
at nodes/portal/acl "2020-03-03 00:00:00"
at nodes/web/type "$T0"
at tosca/tosca.yaml "2020-03-03 00:00:00"

# Changes made through the mount: their files, and what derives from them, only.
sleep 1.1 # the mount's own files (status, console) show its start: seconds before
touch "$T/before"
sleep 1.1
echo critical >"$M/nodes/portal/security_level"
echo 8081 >"$M/nodes/portal/properties/listen_port"
newer=$(cd "$M" && find nodes -type f -newer "$T/before" | sort | tr '\n' ' ')
want="nodes/portal/acl nodes/portal/modules nodes/portal/pdp nodes/portal/properties/listen_port nodes/portal/security_level "
[ "$newer" = "$want" ] && ok || bad "find -newer after portal's level and port: '$newer', expected '$want'"
check "history is newer" test "$M/history" -nt "$T/before"
check "tosca/ is newer" test "$M/tosca/p_so.json" -nt "$T/before"
check "topology.yaml is not" test ! "$M/topology.yaml" -nt "$T/before"
# A rules file made: it and every node's acl, nothing else of the nodes.
sleep 1.1
touch "$T/before2"
sleep 1.1
echo 'regular alice GET /times2/* allow' >"$M/policy/acl.d/30-times"
newer=$(cd "$M" && find nodes policy -type f -newer "$T/before2" | sort | tr '\n' ' ')
want="nodes/portal/acl nodes/web/acl policy/acl.d/30-times "
[ "$newer" = "$want" ] && ok || bad "find -newer after a rules file: '$newer', expected '$want'"
unmount_store

# A remount finds the mount's own commits in the history.
mount_store
check "after a remount: portal's level is newer" test "$M/nodes/portal/security_level" -nt "$T/before"
check "after a remount: web's level is not" test ! "$M/nodes/web/security_level" -nt "$T/before"
at nodes/web/security_level "2020-01-02 03:04:05"
check "after a remount: the rules file keeps its commit's time" test "$M/policy/acl.d/30-times" -nt "$T/before2"
check "after a remount: policy/acl keeps its own" test ! "$M/policy/acl" -nt "$T/before"
unmount_store

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
