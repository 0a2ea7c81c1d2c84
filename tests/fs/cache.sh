#!/bin/sh
# tests/fs/cache.sh — the kernel keeps the names the mount looked up (fs/MOUNT.md, "Cost"); no
# call may see a stale one. A rules file removed by an outside commit, and one removed by the
# remote's main (-o remote=file://...), is made again through the mount at once (a stale
# name would refuse open(O_CREAT) with ENOENT); a node removed by a topology write is gone
# for every call on it and its files, and one added is listed and read at once; a node
# removed and added back reads; the growing files (events, errors, metrics) read whole and
# stat their new size right after they grow. Skips (exit 77) where FUSE is unavailable.
set -u
cd "$UNISEC_SRCDIR" || exit 1
. tests/lib.sh
need fusermount3 git python3

U=$UNISEC
one_mount
D=$M/policy/acl.d
GIT="git -C $S -c user.name=operator -c user.email=operator@example.org"

# write FILE CONTENT: as a tool that checks close(2) does.
write() { python3 -c 'import sys
with open(sys.argv[1], "w") as f: f.write(sys.argv[2])' "$1" "$2"; }
# the topology with one more node, NAME, on PORT
more() {
    cat mount-examples/paper.yaml
    printf '    %s:\n      type: webserver_unikernel_type\n      properties:\n' "$1"
    printf '        http_port: %s\n' "$2"
    printf '        vm_security_level: {multi_level_security: {default_security_level: regular_access_control}}\n'
}
more extra 8081 >"$T/more.yaml"
check "the topology with a third node is valid" "$U" check "$T/more.yaml"
check "init" "$U" init "$S" --from "$T/more.yaml" --policy-dir mount-examples/policy
mount_up --daemon --no-run

# ---- a rules file removed from outside, made again through the mount ------------------------
check "a rules file made through the mount" sh -c "echo 'regular * GET /a allow' >'$D/10-a'"
check "and read (its name is now in the kernel's cache)" grep -q '/a allow' "$D/10-a"
check "the outside commit removing it" outside_rm policy/acl.d/10-a 'rm 10-a'
# A write through the mount takes the outside commit in first (main moved) and returns once
# what it removed is dropped: the next call sees the store as it is.
check "a level write after it" write "$M/nodes/web/security_level" critical
check "the removed file is gone" sh -c "! test -e '$D/10-a'"
check "it is not listed" sh -c "! ls '$D' | grep -q 10-a"
check "echo makes it again at once (no stale name refuses O_CREAT)" \
    sh -c "echo 'regular * GET /b allow' >'$D/10-a'"
check "with the new rules" grep -q '/b allow' "$D/10-a"
check "committed" test "$(git -C "$S" show main:policy/acl.d/10-a)" = "regular * GET /b allow"

# The inotify watcher alone (no write after the outside commit) drops it too.
check "read again" cat "$D/10-a"
check "removed from outside again" outside_rm policy/acl.d/10-a 'rm 10-a again'
check "the watcher takes it in: the file is gone" wait_for 20 sh -c "! test -e '$D/10-a'"
check "and made again (the stale name was dropped, not expired)" \
    wait_for 5 sh -c "echo 'regular * GET /c allow' >'$D/10-a'"
check "with its rules" grep -q '/c allow' "$D/10-a"

# ---- nodes removed and added by topology writes ---------------------------------------------
check "the third node's files read" sh -c "cat '$M/nodes/extra/security_level' '$M/nodes/extra/type'"
check "cd into it works" sh -c "cd '$M/nodes/extra' && cat security_level"
check "a topology write without it" cp mount-examples/paper.yaml "$M/topology.yaml"
check "it is not listed" sh -c "! ls '$M/nodes' | grep -qx extra"
check "its directory is gone" sh -c "! test -e '$M/nodes/extra'"
check "its level is gone" sh -c "! cat '$M/nodes/extra/security_level'"
check "its level cannot be written" sh -c "! echo critical >'$M/nodes/extra/security_level'"
check "a process inside the removed node sees nothing there" \
    sh -c "cd '$M/nodes/web' && ! cat ../extra/type"
check "a topology write with it again" cp "$T/more.yaml" "$M/topology.yaml"
check "it is listed again" sh -c "ls '$M/nodes' | grep -qx extra"
check "its level reads" test "$(cat "$M/nodes/extra/security_level")" = default
check "and can be written" write "$M/nodes/extra/security_level" default
more other 8082 >"$T/other.yaml"
check "a topology write that adds a node never seen" cp "$T/other.yaml" "$M/topology.yaml"
check "the new node is listed at once" sh -c "ls '$M/nodes' | grep -qx other"
check "its type reads at once" test "$(cat "$M/nodes/other/type")" = webserver_unikernel_type
check "the node it replaced is gone" sh -c "! test -e '$M/nodes/extra'"

# ---- a node removed and added back from outside -------------------------------------------
check "read its level (cached name)" cat "$M/nodes/other/security_level"
cp mount-examples/paper.yaml "$S/topology.yaml"
sed -i '/^other /d' "$S/state/levels" "$S/state/properties"
check "an outside commit removing it" outside_commit_a 'no other'
check "taken in" wait_for 20 sh -c "! test -e '$M/nodes/other'"
check "its level cannot be read" sh -c "! cat '$M/nodes/other/security_level'"
cp "$T/other.yaml" "$S/topology.yaml"
check "an outside commit adding it back" outside_commit_a 'other back'
check "it reads again" wait_for 20 sh -c "test \"\$(cat '$M/nodes/other/security_level')\" = default"

# ---- the files that grow read whole right after growth ---------------------------------------
for i in 1 2 3 4 5; do
    lv=critical; [ $((i % 2)) = 0 ] && lv=default
    write "$M/nodes/web/security_level" $lv
    n=$(git -C "$S" rev-parse --short=12 main)
    check "events holds the commit $i at once" grep -q "commit $n" "$M/events"
    check "events' size is its length at once ($i)" \
        test "$(stat -c %s "$M/events")" = "$(wc -c <"$M/events")"
done
e0=$(stat -c %s "$M/errors")
check "a refused write" sh -c "! echo nonsense >'$M/nodes/web/security_level'"
check "errors grew at once" test "$(stat -c %s "$M/errors")" -gt "$e0"
check "and reads whole" grep -q "refused nodes/web/security_level" "$M/errors"
check "metrics' size is its length" test "$(stat -c %s "$M/metrics")" -gt 0
check "metrics reads whole" grep -q "unisec_commits_total" "$M/metrics"

# ---- a rules file removed by the remote's main, made again through the mount -----------------
S2=$T/s2 M2=$T/m2 W=$T/work
mkdir -p "$M2"
trap 'fusermount3 -u -z "$M2" 2>/dev/null; fusermount3 -u -z "$M" 2>/dev/null; rm -rf "$T"' EXIT
check "a bare repository" git init -q --bare -b main "$T/remote.git"
check "init a store that follows it" "$U" init "$S2" --from "$T/more.yaml" --policy-dir mount-examples/policy
mount_up --daemon --at "$S2" "$M2" --pid dpid2 --no-run -o "remote=file://$T/remote.git"
check "a rules file made through it" sh -c "echo 'regular * GET /r allow' >'$M2/policy/acl.d/20-r'"
check "and read" grep -q '/r allow' "$M2/policy/acl.d/20-r"
check "a clone of the remote" git clone -q "$T/remote.git" "$W"
check "removes it there" sh -c "git -C '$W' rm -q policy/acl.d/20-r && git -C '$W' -c user.name=o -c user.email=o@example.org commit -qm 'rm 20-r' && git -C '$W' push -q origin main"
# The write finds the remote moved, follows it, and makes its change on top.
check "a level write through the mount" write "$M2/nodes/web/security_level" critical
check "the mount follows the remote: the file is gone" sh -c "! test -e '$M2/policy/acl.d/20-r'"
check "echo makes it again at once" sh -c "echo 'regular * GET /s allow' >'$M2/policy/acl.d/20-r'"
check "on the remote too" test "$(git -C "$T/remote.git" show main:policy/acl.d/20-r)" = "regular * GET /s allow"
check "the remote's mount unmounted" fusermount3 -u "$M2"
dpid2=

check "unmounted" umount_wait
echo "cache: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
