#!/bin/sh
# tests/fs/mount.sh — the mount for real: init, mount (daemonised and -f), the fstab helper,
# reads, every write path (echo, printf, tee, cat >, sed -i, os.replace, vim, nano), refusals
# and errors, name checks, EFBIG, permissions as an unprivileged user, concurrent writers,
# history and authors, changes made in the store from outside (git revert, an invalid commit,
# a work-tree edit), and kill -9 recovery. Skips (exit 77) where FUSE is unavailable.
set -u
cd "$UNISEC_SRCDIR" || exit 1
. tests/lib.sh
need fusermount3 git

U=$UNISEC
TTY="python3 tests/fs/tty_drive.py"
one_mount
chmod 755 "$T" # the unprivileged user must reach the mount point
GIT="git -C $S -c user.name=operator -c user.email=operator@example.org"

mounted() { grep -q " $M fuse" /proc/mounts; }
no_daemon() { ! daemon_pid >/dev/null; }

# ---- init ------------------------------------------------------------------------------
# The paper's topology, with one access-control policy (regular) at both levels, so that the
# write tests below can replace policy/acl by rules of that one policy.
sed 's/policy: restricted/policy: regular/' mount-examples/paper.yaml >"$T/topo.yaml"
printf 'tosca_definitions_version: tosca_simple_yaml_1_2\ntopology_template: [\n' >"$T/bad.yaml"
refuse "init refuses an invalid topology" "$U" init "$T/s0" --from "$T/bad.yaml"
check "and creates nothing" test ! -e "$T/s0/.git"
check "init creates a store" "$U" init "$S" --from "$T/topo.yaml" --policy-dir mount-examples/policy
check "the store is a git repository with one commit" test "$(commits)" = 1
refuse "init refuses an existing store" "$U" init "$S" --from "$T/topo.yaml"
mkdir "$T/badpol" && echo 'regular bob GET' >"$T/badpol/acl"
refuse "init refuses an invalid policy" "$U" init "$T/s2" --from "$T/topo.yaml" --policy-dir "$T/badpol"
check "nothing is created for an invalid policy" test ! -e "$T/s2/.git"

# ---- mount (daemonised), tree ------------------------------------------------------------
# allow_other (for the unprivileged user's checks) needs root or user_allow_other.
AO=""
[ "$(id -u)" = 0 ] && AO="-o allow_other"
# shellcheck disable=SC2086
mount_up --daemon --no-run $AO
out=$(cat "$T/mount.out")
check "the mount is there when mount returns" mounted
check "the daemon runs in the background" daemon_pid
case $out in *"--no-run"*) ok ;; *) bad "mount --no-run says no instance starts: $out" ;; esac
check "status says the daemon serves it and nothing was deployed" sh -c "'$U' status --store '$S' | grep -q 'instances: nothing was ever deployed' && '$U' status --store '$S' | grep -q '^daemon: serving it on $M'"
for f in README topology.yaml inputs.yaml history events errors settle policy/acl policy/groups \
    policy/credentials; do
    check "$f exists" test -f "$M/$f"
done
for d in nodes tosca images policy; do check "$d/ exists" test -d "$M/$d"; done
W=$M/nodes/web
check "nodes/ lists the topology's nodes" test "$(ls "$M/nodes" | tr '\n' ' ')" = "portal web "
for f in security_level security_levels type modules pdp acl status status.json console; do
    check "nodes/web/$f exists" test -f "$W/$f"
done
same "web starts at level default" "$W/security_level" "default"
check "its levels" test "$(cat "$W/security_levels" | tr '\n' ' ')" = "default critical "
same "its type" "$W/type" "webserver_unikernel_type"
same "its PDP at level default" "$W/pdp" "push"
check "its modules" grep -qx dispatch "$W/modules"
check "its ACL is policy regular's slice" sh -c "grep -q '^# web at level default: policy regular' '$W/acl' && grep -q '^regular \* GET /\* allow' '$W/acl' && ! grep -q '^restricted' '$W/acl'"
same "its status: nothing runs" "$W/status" "not running (--no-run)"
check "status.json is JSON saying so" python3 -c "import json,sys; d=json.load(open('$W/status.json')); sys.exit(d['state'] != 'not running' or d['image'] is not None)"
check "its properties" test -f "$W/properties/http_port"
same "http_port as the topology says" "$W/properties/http_port" "8080"
refuse "no such node" test -e "$M/nodes/nosuch"
refuse "no such property" test -e "$W/properties/nosuch"
refuse "type is read-only" sh -c "echo x > '$W/type'"
for f in unitosca.yaml tosca.yaml p_so.json p_ug.json topology.dot; do
    check "tosca/$f is there" test -s "$M/tosca/$f"
done
check "tosca/tosca.yaml is TOSCA" grep -q "^tosca_definitions_version:" "$M/tosca/tosca.yaml"
check "tosca/p_so.json is JSON" python3 -c "import json; json.load(open('$M/tosca/p_so.json'))"
check "tosca/topology.dot is Graphviz" grep -q "digraph" "$M/tosca/topology.dot"
cp "$M/tosca/p_so.json" "$T/p_so.before"
check "policy/acl reads as the store's file" cmp "$M/policy/acl" mount-examples/policy/acl
check "history shows the init commit" grep -q "init:" "$M/history"
check "settle says nothing is pending and nothing runs" grep -q "nothing runs" "$M/settle"
check "events shows the mount" grep -q "mounted" "$M/events"
refuse "README is read-only, even for root" sh -c "echo x > '$M/README'"
refuse "history is read-only" sh -c "echo x >> '$M/history'"

# ---- writes: levels and properties ----------------------------------------------------------
n0=$(commits)
cp "$M/metrics" "$T/cpu0"
check "echo critical > security_level" sh -c "echo critical > '$W/security_level'"
cp "$M/metrics" "$T/cpu1"
# moved NAME: the counter NAME (a line of metrics) grew with the write.
moved() {
    awk -v k="$1" '$1 == k { v[FILENAME] = $2 } END { exit !(v[ARGV[2]] > v[ARGV[1]]) }' \
        "$T/cpu0" "$T/cpu1"
}
for step in validate commit serve; do
    check "metrics: the write's CPU in step $step" moved "unisec_write_cpu_seconds_total{step=\"$step\"}"
done
for step in check objects journal commit worktree; do
    check "metrics: the commit's CPU in step $step" moved "unisec_store_commit_cpu_seconds_total{step=\"$step\"}"
done
same "the level is served" "$W/security_level" "critical"
check "one commit" test "$(commits)" = $((n0 + 1))
check "message: web: security_level default -> critical" test "$(git -C "$S" log -1 --format=%s)" = "web: security_level default -> critical"
check "author: the writer" test "$(git -C "$S" log -1 --format=%an)" = "$(id -un)"
check "the store's state/levels says so" grep -qx "web critical" "$S/state/levels"
same "the PDP follows the level" "$W/pdp" "internal"
refuse "tosca/ follows the level" cmp -s "$M/tosca/p_so.json" "$T/p_so.before"
check "the ACL follows the level" grep -q "^# web at level critical: policy regular, pdp internal" "$W/acl"
check "writing the same value commits nothing" sh -c "echo critical > '$W/security_level'"
check "no commit" test "$(commits)" = $((n0 + 1))
# bash names the errno (dash's echo says "I/O error" for any failed write).
out=$(bash -c "echo bogus > '$W/security_level'" 2>&1)
case $out in *"Invalid argument"*) ok ;; *) bad "echo bogus > security_level is EINVAL: $out" ;; esac
check "errors names the allowed values" grep -q "level 'bogus' of node web: expected default or critical" "$M/errors"
same "the old level stays" "$W/security_level" "critical"
check "nothing committed" test "$(commits)" = $((n0 + 1))
refuse "two lines are refused" sh -c "printf 'default\ncritical\n' > '$W/security_level'"
refuse "an empty value is refused" sh -c "echo > '$W/security_level'"
check "printf without a newline" sh -c "printf default > '$W/security_level'"
same "printf value" "$W/security_level" "default"
check "echo 8081 > properties/http_port" sh -c "echo 8081 > '$W/properties/http_port'"
check "message: web: http_port 8080 -> 8081" test "$(git -C "$S" log -1 --format=%s)" = "web: http_port 8080 -> 8081"
refuse "a property of the wrong type" sh -c "echo abc > '$W/properties/http_port'"
check "errors says the type expected" grep -q "http_port of node web (integer)" "$M/errors"
same "the old property stays" "$W/properties/http_port" "8081"
refuse "a value past 4 KiB gets EFBIG" sh -c "head -c 5000 /dev/zero | tr '\\0' a > '$W/properties/document_root'"
refuse "a typo of a file name fails" sh -c "echo critical > '$W/securty_level'"

tail -n 0 -f "$M/events" >"$T/tail.out" 2>/dev/null &
tailpid=$!
sleep 0.3
echo critical >"$W/security_level"
check "tail -f events follows the changes" wait_for 10 grep -q "web: security_level default -> critical" "$T/tail.out"
kill "$tailpid"
wait "$tailpid" 2>/dev/null
echo default >"$W/security_level"

# ---- writes: topology.yaml -------------------------------------------------------------------
n0=$(commits)
check "sed -i on topology.yaml" sed -i 's/http_port: 8080/http_port: 9090/' "$M/topology.yaml"
check "one commit: topology.yaml replaced" test "$(git -C "$S" log -1 --format=%s)" = "topology.yaml: replaced (2 -> 2 nodes)"
same "the override made through the mount stays in force" "$W/properties/http_port" "8081"
same "the level stays" "$W/security_level" "default"
refuse "an invalid topology is refused at close" sh -c "printf 'tosca_definitions_version: [\n' | cat > '$M/topology.yaml'"
check "errors says where" grep -q "topology.yaml:2:1: error: invalid YAML" "$M/errors"
check "the topology stays" grep -q "http_port: 9090" "$M/topology.yaml"
check "nothing committed" test "$(commits)" = $((n0 + 1))
check "os.replace of a topology without portal" python3 -c "
import os
d = '$M'; t = open(d + '/topology.yaml').read()
open(d + '/.topology.yaml.tmp', 'w').write(t[:t.index('    portal:')])
os.replace(d + '/.topology.yaml.tmp', d + '/topology.yaml')"
check "portal is gone" test ! -e "$M/nodes/portal"
check "and gone from state/levels" sh -c "! grep -q portal '$S/state/levels'"
check "put the paper's topology back" cp "$T/topo.yaml" "$M/topology.yaml"
check "portal is back at level default" test "$(cat "$M/nodes/portal/security_level")" = default

# ---- writes: policy files ----------------------------------------------------------------------
A=$M/policy/acl
n0=$(commits)
check "echo >> appends a rule" sh -c "echo 'regular * GET /echo allow' >> '$A'"
check "the rule is served" grep -q "GET /echo allow" "$A"
check "one commit for it" test "$(commits)" = $((n0 + 1))
check "its message says what changed" sh -c "git -C '$S' log -1 --format=%s | grep -q 'policy/acl: replaced (8 -> 9 rules)'"
check "its author is the writer" test "$(git -C "$S" log -1 --format=%an)" = "$(id -un)"
check "the store's work tree follows" grep -q "GET /echo allow" "$S/policy/acl"
check "git status stays clean" test -z "$(git -C "$S" status --porcelain)"
check "the commit is in history" grep -q "8 -> 9 rules" "$M/history"
# A reader reads the file as served when it opened it, whole, whatever changes meanwhile (its
# handle shares the served text instead of copying it: nothing may change that text).
exec 3<"$A"
held=$(cat "$A")
check "a change while a reader holds the file open" sh -c "echo 'regular * GET /held allow' >> '$A'"
check "that reader reads the file as it was at its open" test "$(cat <&3)" = "$held"
exec 3<&-
check "a new reader reads the change" grep -q "GET /held allow" "$A"
check "stat says the new size" test "$(stat -c %s "$A")" = "$(wc -c <"$A")"

n0=$(commits)
before=$(cat "$A")
refuse "echo of an invalid rule fails in the shell" sh -c "echo 'regular bob GET' > '$A'"
check "errors says why" grep -q "policy/acl:1:.*missing" "$M/errors"
check "the old content stays" test "$(cat "$A")" = "$before"
check "nothing is committed" test "$(commits)" = "$n0"
refuse "/bin/echo sees the error at close" sh -c "/bin/echo 'regular bob GET' > '$A'"
refuse "printf without a newline sees it at close" sh -c "printf 'nonsense' | cat > '$A'"
refuse "tee fails" sh -c "echo 'x y' | tee '$A'"
check "still nothing committed" test "$(commits)" = "$n0"
check "still the old content" test "$(cat "$A")" = "$before"

check "printf writes" sh -c "printf 'regular * GET /printf allow\n' > '$A'"
same "printf content" "$A" "regular * GET /printf allow"
check "tee writes" sh -c "echo 'regular * GET /tee allow' | tee '$A'"
same "tee content" "$A" "regular * GET /tee allow"
printf 'regular * GET /cat allow\nregular * GET /cat2 allow\n' >"$T/acl.cat"
check "cat > writes" sh -c "cat '$T/acl.cat' > '$A'"
check "cat content" cmp "$A" "$T/acl.cat"
check "sed -i edits in place" sed -i 's|/cat2|/sed|' "$A"
check "sed content" grep -q "GET /sed allow" "$A"
check "python os.replace" python3 -c "
import os
p = '$A'; t = os.path.join(os.path.dirname(p), '.acl.tmp')
with open(t, 'w') as f: f.write('regular * GET /replace allow\n')
os.replace(t, p)"
same "os.replace content" "$A" "regular * GET /replace allow"
n0=$(commits)
refuse "os.replace of an invalid file fails" python3 -c "
import os
p = '$A'; t = os.path.join(os.path.dirname(p), 'tmpbad')
with open(t, 'w') as f: f.write('junk\n')
os.replace(t, p)"
same "os.replace refused: old content" "$A" "regular * GET /replace allow"
check "the refused temporary file is still there to fix" test -f "$M/policy/tmpbad"
check "and can be removed" rm "$M/policy/tmpbad"
check "no commit for it" test "$(commits)" = "$n0"
refuse "an ACL without a rule of a policy the topology uses is refused" truncate -s 0 "$A"
check "errors names the policy" grep -q "policy 'regular' has no rule" "$M/errors"
check "truncate -s 0 empties a file at once" truncate -s 0 "$M/policy/credentials"
check "empty now" test ! -s "$M/policy/credentials"
check ": > is applied at the last close" sh -c "echo 'ops: bob' > '$M/policy/groups' && : > '$M/policy/groups'"
check "empty again" wait_for 10 test ! -s "$M/policy/groups"
echo 'regular * GET /x allow' >"$A"

# Editors on a level: vim (a pty, default settings) and nano.
if command -v vim >/dev/null; then
    check "vim on security_level" $TTY ':s#default#critical#\r|:wq\r' -- \
        vim -u DEFAULTS -i NONE --cmd 'set backupskip=' "$W/security_level"
    same "vim set the level" "$W/security_level" "critical"
    check "vim's commit message" test "$(git -C "$S" log -1 --format=%s)" = "web: security_level default -> critical"
fi
if command -v nano >/dev/null; then
    check "nano on security_level" $TTY '\x0b|default|\x0f|\r|\x18' -- nano -I "$W/security_level"
    same "nano set the level" "$W/security_level" "default"
fi

# vim with its default settings: swap file, the 4913 probe, backup by rename. 'backupskip'
# skips backups under /tmp, where this test's mount is; a mount elsewhere does not need this.
if command -v vim >/dev/null; then
    n0=$(commits)
    check "vim edits and writes" $TTY ':%s#GET /x#GET /vim#\r|:wq\r' -- \
        vim -u DEFAULTS -i NONE --cmd 'set backupskip=' "$A"
    same "vim content" "$A" "regular * GET /vim allow"
    check "vim made one commit" test "$(commits)" = $((n0 + 1))
    check "no swap, probe or backup file is left" test -z "$(ls -A "$M/policy" | grep -v '^acl$\|^acl\.d$\|^groups$\|^credentials$')"
    e0=$(wc -l <"$M/errors")
    $TTY ':%s#GET /vim#GET#\r|:wq\r|:q!\r' -- vim -u DEFAULTS -i NONE --cmd 'set backupskip=' "$A" >/dev/null
    same "vim: an invalid write is refused, the old content stays" "$A" "regular * GET /vim allow"
    check "vim's refused write is in errors" test "$(wc -l <"$M/errors")" -gt "$e0"
    check "vim made no commit for it" test "$(commits)" = $((n0 + 1))
    check "vim -es (ex mode) writes" vim -es -u NONE -i NONE -c '%s#GET /vim#GET /ex#' -c 'wq' "$A"
    same "vim -es content" "$A" "regular * GET /ex allow"
else
    bad "vim is not installed (tests/deps.sh installs it)"
fi
if command -v nano >/dev/null; then
    check "nano edits and writes" $TTY '\x1b\\|\x0b|regular * GET /nano allow|\x0f|\r|\x18' -- nano -I "$A"
    same "nano content" "$A" "regular * GET /nano allow"
else
    bad "nano is not installed (tests/deps.sh installs it)"
fi
check "the store's work tree is clean after the editors" test -z "$(git -C "$S" status --porcelain)"

# ---- temporary files and names -------------------------------------------------------------
check "a swap-like file can be created" sh -c "echo swap > '$M/policy/.acl.swp'"
check "and read back" grep -q swap "$M/policy/.acl.swp"
check "it is listed" sh -c "ls -a '$M/policy' | grep -q '^.acl.swp$'"
check "it is not in the store" test ! -e "$S/policy/.acl.swp"
# Renaming one temporary file onto another in a node's directory (the lookup of nodes/* takes
# the mount's lock, which the rename held: the whole mount hung). timeout ends a hang.
check "a temporary file in a node's directory can be renamed" timeout 20 sh -c "echo x > '$W/.a.tmp' && mv '$W/.a.tmp' '$W/.b.tmp'"
check "the renamed file holds its content" grep -qx x "$W/.b.tmp"
check "and can be removed" timeout 20 rm "$W/.b.tmp"
refuse "an unknown name cannot be created" sh -c "echo x > '$M/policy/acll'"
check "errors says only temporary files may be created" grep -q "only editors' temporary files" "$M/errors"
refuse "a name with a control character is refused" sh -c "echo x > \"\$(printf '$M/policy/.a\001b')\""
refuse "mkdir is refused" mkdir "$M/policy/dir"
refuse "a file of the tree cannot be removed" rm -f "$A"
refuse "nor renamed to another file of the tree" mv "$M/policy/groups" "$M/policy/credentials"
refuse "no temporary file in tosca/" sh -c "echo x > '$M/tosca/.x.swp'"
refuse "no such directory" sh -c "echo x > '$M/nodes/nosuch/security_level'"
refuse "a write past the bound gets EFBIG" sh -c "head -c 67108865 /dev/zero | tr '\\0' a > '$A'"
check "EFBIG is reported" grep -q "EFBIG" "$M/errors"

# ---- permissions (as an unprivileged user) ----------------------------------------------------
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
    as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
    as_nobody_ok=1
    check "nobody reads the ACL" as_nobody cat "$A"
    out=$(as_nobody sh -c "echo 'regular * GET /nobody allow' > '$A'" 2>&1)
    case $out in *"Permission denied"*) ok ;; *) bad "nobody's write is EACCES: $out" ;; esac
    out=$(as_nobody sh -c "echo critical > '$W/security_level'" 2>&1)
    case $out in *"Permission denied"*) ok ;; *) bad "nobody's level write is EACCES: $out" ;; esac
    check "nobody reads a level" as_nobody cat "$W/security_level"
    refuse "nobody cannot read credentials (mode 0640)" as_nobody cat "$M/policy/credentials"
    refuse "nobody cannot create temporary files" as_nobody sh -c "echo x > '$M/policy/.x.swp'"
    # The mount's owner lets a group write the ACL; a member's write is committed as theirs.
    check "the owner gives group nogroup the ACL and policy/" sh -c "chgrp nogroup '$A' '$M/policy' && chmod 664 '$A' && chmod 775 '$M/policy'"
    check "ls -l shows it" sh -c "ls -l '$A' | grep -q '^-rw-rw-r-- .* nogroup '"
    check "a member of the group writes the ACL" as_nobody sh -c "echo 'regular * GET /by-nobody allow' >> '$A'"
    check "the commit's author is that user" test "$(git -C "$S" log -1 --format=%an)" = nobody
    check "and may use temporary files in policy/" as_nobody sh -c "echo x > '$M/policy/.x.swp' && rm '$M/policy/.x.swp'"
    refuse "a user cannot chmod a file that is not theirs" as_nobody chmod 666 "$A"
    refuse "a read-only file cannot be made writable" chmod 644 "$M/README"
    check "the owner takes it back" sh -c "chmod 644 '$A' && chmod 755 '$M/policy'"
    out=$(as_nobody sh -c "echo 'regular * GET /nobody allow' > '$A'" 2>&1)
    case $out in *"Permission denied"*) ok ;; *) bad "nobody's write is EACCES again: $out" ;; esac
    chmod 664 "$A"
else
    echo "note: permission checks need root, setpriv and user nobody; skipped"
fi

# ---- concurrent writers: every acknowledged write is one commit, none interleaved -----------
n0=$(commits)
for w in 1 2 3 4 5 6 7 8; do
    (for i in 1 2 3 4 5 6 7 8 9 10; do
        echo "regular w$w GET /w$w/$i allow" >"$A" && echo "$w/$i" >>"$T/acked.$w"
    done) &
done
wait
acked=$(cat "$T"/acked.* | wc -l)
check "all 80 concurrent writes were acknowledged" test "$acked" = 80
check "80 commits" test "$(commits)" = $((n0 + 80))
git -C "$S" log --format=%H -n 80 main | while read -r c; do git -C "$S" show "$c:policy/acl"; done >"$T/seen"
check "each commit holds exactly one writer's line" test "$(grep -c '^regular w[1-8] GET /w[1-8]/[0-9]* allow$' "$T/seen")" = 80
check "all 80 distinct" test "$(sort -u "$T/seen" | wc -l)" = 80

# Concurrent writers of one property: serialised, so each commit's old value is the previous
# commit's new one (no lost update), and every acknowledged value is a commit.
n0=$(commits)
for w in 1 2 3 4 5 6 7 8; do
    (for i in 1 2 3 4 5 6 7 8 9 10; do
        echo "$w$i" >"$W/properties/max_connections" && echo "$w$i" >>"$T/packed.$w"
    done) &
done
wait
check "all 80 property writes acknowledged" test "$(cat "$T"/packed.* | wc -l)" = 80
check "80 commits" test "$(commits)" = $((n0 + 80))
git -C "$S" log --reverse --format=%s -n 80 main | sed -n 's/^web: max_connections \(.*\) -> \(.*\)$/\1 \2/p' >"$T/chain"
check "80 property commits" test "$(wc -l <"$T/chain")" = 80
check "each starts where the previous one ended" awk 'NR > 1 && $1 != prev { exit 1 } { prev = $2 }' "$T/chain"

# ---- changes made in the store from outside ------------------------------------------------------
echo critical >"$W/security_level"
check "git revert of a level change" $GIT revert --no-edit HEAD
check "the reverted level is served" wait_for 10 sh -c "test \"\$(cat '$W/security_level')\" = default"
sed -i 's/^web .*/web bogus/' "$S/state/levels"
check "an invalid level edited in the work tree is refused" wait_for 10 grep -q "refused edit of state/levels" "$M/errors"
same "the level stays" "$W/security_level" "default"
git -C "$S" checkout -q -- state/levels
echo 'regular * GET /before-revert allow' >"$A"
echo 'regular * GET /to-revert allow' >"$A"
check "git revert in the store" $GIT revert --no-edit HEAD
check "the revert is served" wait_for 10 grep -q "before-revert" "$A"
check "events shows it" wait_for 10 grep -q "external commit .* applied" "$M/events"
printf 'regular bob GET\n' >"$S/policy/acl"
check "an invalid commit made outside" $GIT commit -qam "bad rule"
check "is refused" wait_for 10 grep -q "refused external commit" "$M/errors"
same "the last good state stays served" "$A" "regular * GET /before-revert allow"
check "a write through the mount puts the good files back" sh -c "echo 'regular * GET /after allow' > '$A'"
check "so main is valid again" sh -c "git -C '$S' show main:policy/acl | grep -q /after"
printf 'ops: alice\n' >"$S/policy/groups"
edited=$(stat -c '%i %y' "$S/policy/groups")
# (the commit comes first, then the new state is served: wait for the latter)
check "a valid work-tree edit is served" wait_for 10 sh -c "test \"\$(cat '$M/policy/groups')\" = 'ops: alice'"
check "and committed" sh -c "git -C '$S' log -1 --format=%s | grep -q 'policy/groups: edited in the store'"
check "the work tree is clean again" test -z "$(git -C "$S" status --porcelain)"
check "the edited file was committed in place, never rewritten (no crash can lose it)" \
    test "$(stat -c '%i %y' "$S/policy/groups")" = "$edited"
printf 'regular group:nosuch GET / allow\n' >"$S/policy/acl"
check "an invalid work-tree edit is refused" wait_for 10 grep -q "refused edit of policy/acl" "$M/errors"
same "the served ACL is unchanged" "$A" "regular * GET /after allow"
git -C "$S" checkout -q -- policy/acl

# ---- unmount, temporary files gone, remount ----------------------------------------------------------
check "fusermount3 -u unmounts" umount_wait
check "the daemon has ended" wait_for 10 no_daemon
check "git fsck accepts the store" git -C "$S" fsck --no-progress
check "the log has the refusals" grep -q "refused" "$S/.git/unisec.log"

# ---- the fstab helper: mount.fuse3 runs `unisec STORE MOUNTPOINT -o OPTIONS` ------------------------
mkdir "$T/bin" && ln -s "$(command -v "$U" || echo "$U")" "$T/bin/unisec" && ln -s "$U" "$T/bin/mount.unisec"
if [ -x /sbin/mount.fuse3 ] && [ "$(id -u)" = 0 ]; then
    check "mount.fuse3 -t fuse.unisec mounts" env PATH="$T/bin:$PATH" /sbin/mount.fuse3 "$S" "$M" -t fuse.unisec -o allow_other,nofail,norun
    check "it serves the store" grep -q "GET /after" "$A"
    check "the temporary file of the last mount is gone" test ! -e "$M/policy/.acl.swp"
    if [ -n "${as_nobody_ok:-}" ]; then
        check "modes set with chmod survive a remount" sh -c "ls -l '$A' | grep -q '^-rw-rw-r-- .* nogroup '"
    fi
    check "and unmounts" umount_wait
fi
check "mount.unisec STORE MOUNTPOINT -o defaults mounts" "$T/bin/mount.unisec" "$S" "$M" -o defaults,norun
check "it serves the store" grep -q "GET /after" "$A"
check "and unmounts" umount_wait

# ---- inputs: inputs.yaml, get_input resolved, writes validated --------------------------------
IS=$T/istore
IM=$T/imnt
mkdir -p "$IM"
# (with a Compute node, which unisec keeps in the model and does not run)
awk '1; /^topology_template:/ {print "  inputs:\n    port:\n      type: integer\n      default: 8080\n      constraints: [{in_range: [1024, 65535]}]\n    banner: {type: string}"}
    /^  node_templates:/ {print "    server:\n      type: tosca.nodes.Compute\n      capabilities:\n        host: {properties: {num_cpus: 2}}\n        os: {properties: {type: linux}}"}' \
    "$T/topo.yaml" | sed 's/        http_port: 8080/        http_port: {get_input: port}/' >"$T/itopo.yaml"
IPOL="--policy-dir mount-examples/policy"
# shellcheck disable=SC2086
refuse "init refuses a required input without a value" "$U" init "$IS" --from "$T/itopo.yaml" $IPOL
# shellcheck disable=SC2086
refuse "init refuses a value against an input's constraints" "$U" init "$IS" --from "$T/itopo.yaml" $IPOL --input banner=hi --input port=80
printf 'banner: hello\nport: 8081\n' >"$T/in.yaml"
# shellcheck disable=SC2086
check "init takes --inputs FILE and --input NAME=VALUE (which wins)" "$U" init "$IS" --from "$T/itopo.yaml" $IPOL --inputs "$T/in.yaml" --input port=8082
check "inputs.yaml is a file of the store" sh -c "git -C '$IS' show main:inputs.yaml | grep -qx 'port: 8082'"
check "the store with inputs mounts" mount_up --daemon --at "$IS" "$IM" --pid ipid --no-run
check "inputs.yaml is in the mount" grep -qx "banner: hello" "$IM/inputs.yaml"
same "get_input takes the given value" "$IM/nodes/web/properties/http_port" "8082"
ni=$(git -C "$IS" rev-list --count main)
refuse "a value against the constraints is refused at close" sh -c "printf 'banner: hello\nport: 80\n' | cat >'$IM/inputs.yaml'"
check "with its reason in errors" grep -q "inputs.yaml:2:7: error: input port" "$IM/errors"
refuse "an input the topology does not declare is refused" sh -c "printf 'banner: hi\nport: 9000\nnope: 1\n' | cat >'$IM/inputs.yaml'"
refuse "a required input left out is refused" sh -c "printf 'port: 9000\n' | cat >'$IM/inputs.yaml'"
check "nothing was committed" test "$(git -C "$IS" rev-list --count main)" = "$ni"
same "the value in force is kept" "$IM/nodes/web/properties/http_port" "8082"
check "a valid change is made with sed -i" sed -i 's/^port: .*/port: 9090/' "$IM/inputs.yaml"
same "and is in force" "$IM/nodes/web/properties/http_port" "9090"
check "as one commit" test "$(git -C "$IS" rev-list --count main)" = "$((ni + 1))"
check "in the store" sh -c "git -C '$IS' show main:inputs.yaml | grep -qx 'port: 9090'"
# ---- nodes unisec does not run (a Compute node) ----------------------------------------------
check "nodes/ lists the node unisec does not run" test "$(ls "$IM/nodes" | tr '\n' ' ')" = "portal server web "
same "its type" "$IM/nodes/server/type" "tosca.nodes.Compute"
check "its status says it is not run" grep -q "^not run (tosca.nodes.Compute): its type has no unikernel modules" "$IM/nodes/server/status"
check "and status.json" python3 -c "import json,sys; d=json.load(open('$IM/nodes/server/status.json')); sys.exit(d['state'] != 'not run' or d['type'] != 'tosca.nodes.Compute')"
check "its template.yaml holds its capabilities and their properties" grep -qx "  host: {properties: {num_cpus: 2}}" "$IM/nodes/server/template.yaml"
check "template.yaml has get_input resolved to the value in force" grep -q "http_port: 9090" "$IM/nodes/web/template.yaml"
for f in modules pdp acl console image; do
    refuse "no $f for a node unisec does not run" test -e "$IM/nodes/server/$f"
done
check "which ls does not list either" sh -c "! ls '$IM/nodes/server' | grep -qx modules"
check "a unikernel node keeps them" test -f "$IM/nodes/web/modules"
refuse "template.yaml is read-only" sh -c "echo 'type: x' | cat >'$IM/nodes/server/template.yaml'"
refuse "a level it does not declare is refused" sh -c "echo critical | cat >'$IM/nodes/server/security_level'"
check "the store with inputs unmounts" fusermount3 -u "$IM"
ipid=

# ---- kill -9: every acknowledged write survives, the store is sound, it serves again ------------------
check "mount -f serves" mount_up --log-to "$T/fg.log" --no-run
# A property written with the shell's builtin echo: the write returns once the commit is
# durable.
nk=$(commits)
(i=0; while [ $i -lt 400 ]; do
    i=$((i + 1))
    echo "$((1000 + i))" >"$W/properties/max_connections" 2>/dev/null && echo "$i" >>"$T/acked.k"
done) 2>/dev/null &
writer=$!
sleep 0.5
kill -9 "$fgpid"
wait "$fgpid" 2>/dev/null
fgpid=
wait "$writer"
fusermount3 -u -z "$M"
last=$(tail -1 "$T/acked.k" 2>/dev/null || echo 0)
echo "kill -9 after $last acknowledged writes"
check "some writes were acknowledged before the kill" test "$last" -gt 0
check "git fsck accepts the store after kill -9" git -C "$S" fsck --no-progress
check "the last acknowledged write is in main" sh -c "git -C '$S' log -n 3 --format=%s main | grep -q -- '-> $((1000 + last))\$'"
git -C "$S" log --format=%s -n $(($(commits) - nk)) main | sed -n 's|^web: max_connections .* -> 1\([0-9]*\)$|\1|p' | sed 's/^0*//' | sort -u >"$T/committed.k"
sort -u "$T/acked.k" >"$T/acked.k.sorted"
check "every acknowledged write is a commit" test -z "$(comm -23 "$T/acked.k.sorted" "$T/committed.k")"
[ "$fail" = 0 ] || { git -C "$S" log --oneline -3; git -C "$S" show main:policy/acl; tail -5 "$T/fg.log"; comm -23 "$T/acked.k.sorted" "$T/committed.k" | head; }
check "the daemon serves the store again" mount_up --daemon --no-run
check "with the last acknowledged write" sh -c "v=\$(cat '$W/properties/max_connections'); [ \$v = $((1000 + last)) ] || [ \$v = $((1001 + last)) ]"
check "and unmounts" umount_wait

# A sanitizer build's daemon reports leaks and errors in its log when it ends.
check "the daemon's log has no sanitizer report" sh -c "! grep -q 'Sanitizer' '$S/.git/unisec.log'"
grep -q 'Sanitizer' "$S/.git/unisec.log" && grep -B2 -A40 'Sanitizer' "$S/.git/unisec.log" | head -80

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
