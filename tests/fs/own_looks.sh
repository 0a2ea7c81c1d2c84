#!/bin/sh
# tests/fs/own_looks.sh — the store watcher does not ask git's status of the work tree for the
# mount's own commits (fs/fs_watch.h): level writes through the mount, each followed by the
# watcher's look, leave `unisec_store_looks_total{status="asked"}` where it was and count
# skipped looks. An edit of state/levels in the store's work tree made in place right after a
# write through the mount (in the burst of events of the mount's commit) is still seen, asked,
# committed and served; so is one made by an editor's rename. A real mount, --no-run. Skips
# (77) without /dev/fuse or git.
set -u
cd "$UNISEC_SRCDIR" || exit 1
. tests/lib.sh
U=$UNISEC
need fusermount3 git python3
one_mount

# looks STATUS: the count of the watcher's looks for events with git's status STATUS (asked,
# skipped); those at the end of its idle period (5 s) are not counted.
looks() { sed -n "s/^unisec_store_looks_total{reason=\"events\",status=\"$1\"} //p" "$M/metrics"; }
check "init" "$U" init "$S" --from mount-examples/paper.yaml --policy-dir mount-examples/policy
check "the mount is served" mount_up --no-run
sleep 0.5 # the start's events looked at
asked=$(looks asked)
skipped=$(looks skipped)

for v in critical default critical; do
    check "a level write ($v)" sh -c "echo $v >'$M/nodes/web/security_level'"
    sleep 0.3
done
check "each of the mount's own commits is looked at without git's status" \
    wait_for 10 test "$(looks skipped)" -ge $((skipped + 3))
check "asked stays at $asked" test "$(looks asked)" = "$asked"

# In place, right after a write through the mount: one burst with the mount's own events.
check "a write through the mount, then an edit in place of the same file in the store" python3 -c '
import sys
m, s = sys.argv[1], sys.argv[2]
with open(m + "/nodes/web/security_level", "w") as f:
    f.write("default\n")
with open(s + "/state/levels", "r+") as f:
    text = f.read().replace("portal default", "portal critical")
    f.seek(0); f.write(text); f.truncate()
' "$M" "$S"
check "the edit is served" wait_for 10 grep -qx critical "$M/nodes/portal/security_level"
check "and the mount's write too" grep -qx default "$M/nodes/web/security_level"
check "git's status was asked for its burst (not only at the idle period's end)" \
    test "$(looks asked)" -gt "$asked"
check "the edit is committed as one of the work tree" \
    sh -c "git -C '$S' log -1 --format=%s main | grep -q \"edited in the store's work tree\""

# An editor's save: a new file renamed over state/levels.
asked=$(looks asked)
sed 's/^portal critical/portal default/' "$S/state/levels" >"$S/state/.levels.tmp"
mv "$S/state/.levels.tmp" "$S/state/levels"
check "an editor's save is served" wait_for 10 grep -qx default "$M/nodes/portal/security_level"
check "git's status was asked for it" test "$(looks asked)" -gt "$asked"

fusermount3 -u "$M"; wait "$fgpid"; fgpid=
refuse "the daemon's log has no sanitizer report" grep -q Sanitizer "$T/daemon.log"
echo "own_looks: $pass passed, $fail failed"
[ "$fail" = 0 ]
