#!/bin/sh
# tests/fs/outside_links.sh — an outside commit (`git commit` in the store) that puts, where the
# mount serves a file (topology.yaml, state/levels, state/properties, policy/acl, groups,
# credentials, inputs.yaml), a symbolic link (whose blob is its target's name: a link named as
# a rule would be read as one), a directory or a submodule, or a file larger than a write
# through the mount may make it (an edit of the work tree too), is refused naming the file and
# why, and the last good file stays served (fs/MOUNT.md, "Changes made in the store from
# outside"). A real mount, --no-run: nothing is started. Skips (77) without /dev/fuse or git.
set -u
cd "$UNISEC_SRCDIR" || exit 1
. tests/lib.sh
U=$UNISEC
need fusermount3 git python3
one_mount
GIT="git -C $S -c user.name=Mallory -c user.email=mallory@example.org"

# taken MSG: main's head, just committed, is taken in (applied or refused) by the mount.
taken() {
    head=$(git -C "$S" rev-parse --short=12 main)
    wait_for 20 sh -c "grep -q 'external commit $head' '$M/events'" || bad "$1: not taken in"
}
# refused MSG FILE WHY: main's head is refused, errors naming FILE and WHY; the mount's FILE as
# $T/served holds it (when there is one).
refused() {
    taken "$1"
    check "$1: refused, errors naming $2" grep -q \
        "refused external commit $(git -C "$S" rev-parse --short=12 main).*$2: error: not a file: $3" "$M/errors"
    [ -e "$T/served" ] && check "$1: $2 as served before" cmp -s "$M/$2" "$T/served"
    rm -f "$T/served"
}
# undone MSG: the last commit reverted, and the revert applied.
undone() {
    $GIT revert --no-edit HEAD >/dev/null 2>&1 || bad "$1: git revert"
    taken "$1: its revert"
    check "$1: its revert applied" grep -q "external commit $head by .* applied" "$M/events"
}

web_topology push "$(freeport)" >"$T/topo.yaml"
check "init" "$U" init "$S" --from "$T/topo.yaml" --policy-dir mount-examples/policy
check "the mount is served" mount_up --no-run

# A link named as a rule that allows everything: read as its target's name, it would be one.
cp "$M/policy/acl" "$T/served"
# Each replacement is made whole (a rename, or the old file's removal staged first), so that the
# daemon never sees the file missing alone, which it would take as an edit of the work tree.
link() { ln -s "$1" "$S/$2.new" && mv -fT "$S/$2.new" "$S/$2"; }
link 'regular * * /* allow' policy/acl
$GIT add -A policy && $GIT commit -q -m "policy/acl: a link named as a rule"
refused "policy/acl a symbolic link" policy/acl "a symbolic link"
undone "policy/acl a symbolic link"

for f in topology.yaml state/levels state/properties policy/groups policy/credentials inputs.yaml; do
    [ -f "$S/$f" ] || continue
    [ -f "$M/$f" ] && cp "$M/$f" "$T/served" # state/* is served as nodes/NODE/*
    link ../topology.yaml "$f"
    $GIT add -A . && $GIT commit -q -m "$f: a symbolic link"
    refused "$f a symbolic link" "$f" "a symbolic link"
    undone "$f a symbolic link"
done

# A directory where policy/groups is expected.
cp "$M/policy/groups" "$T/served"
$GIT rm -q --cached policy/groups && rm "$S/policy/groups" && mkdir "$S/policy/groups" &&
    echo x >"$S/policy/groups/x"
$GIT add -A policy && $GIT commit -q -m "policy/groups: a directory"
refused "policy/groups a directory" policy/groups "a directory"
rm -r "$S/policy/groups"
undone "policy/groups a directory"

# A submodule (a gitlink: a commit of another repository) where policy/credentials is expected.
cp "$M/policy/credentials" "$T/served"
$GIT rm -q --cached policy/credentials
$GIT update-index --add --cacheinfo "160000,$(git -C "$S" rev-parse HEAD),policy/credentials"
$GIT commit -q -m "policy/credentials: a submodule"
refused "policy/credentials a submodule" policy/credentials "a submodule"
$GIT rm -q --cached policy/credentials && $GIT add policy/credentials
$GIT commit -q -m "policy/credentials: the file again"
taken "policy/credentials the file again"
check "policy/credentials the file again: applied" grep -q "external commit $head by .* applied" "$M/events"
# topology.yaml of more than 4 MiB (fs/MOUNT.md, Limits): an edit of the work tree, then its
# commit, each refused naming the file and its size; never read whole.
cp "$M/topology.yaml" "$T/served"
{ cat "$S/topology.yaml"; python3 -c "import sys; sys.stdout.write('# padding\n' * 500000)"; } >"$T/big"
size=$(wc -c <"$T/big")
cp "$T/big" "$S/topology.yaml"
check "an edit of topology.yaml of $size bytes: refused, errors naming it and its size" \
    wait_for 20 grep -q "refused edit of topology.yaml .*topology.yaml: error: $size bytes, more than the 4194304" "$M/errors"
check "the edit too large: topology.yaml as served before" cmp -s "$M/topology.yaml" "$T/served"
$GIT add topology.yaml && $GIT commit -q -m "topology.yaml: more than 4 MiB"
taken "topology.yaml too large"
check "topology.yaml too large: refused, errors naming it and its size" grep -q \
    "refused external commit $head.*topology.yaml: error: $size bytes, more than the 4194304" "$M/errors"
check "topology.yaml too large: as served before" cmp -s "$M/topology.yaml" "$T/served"
undone "topology.yaml too large"
rm -f "$T/served" "$T/big"
check "the store's work tree is clean" test -z "$(git -C "$S" status --porcelain)"
refuse "no error names a link's target as text" grep -q "regular \* \* /\* allow" "$M/policy/acl"

fusermount3 -u "$M"; wait "$fgpid"; fgpid=
refuse "the daemon's log has no sanitizer report" grep -q Sanitizer "$T/daemon.log"
echo "outside_links: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
