#!/bin/sh
# tests/fs/acld.sh — rules files in policy/acl.d, for real: init from a policy directory with
# acl.d, the mount's listing, a file made, appended to, replaced (cp, sed -i, os.replace, vim),
# removed, each one commit of that one file; refusals naming policy/acl.d/NAME:LINE:COL (a bad
# rule, a conflict with another file, an undefined group, the last rule of a policy in use, a
# name that is no rules file); editors' temporary names; edits and commits made in the store
# from outside; a remount; `unisec acl check` and `acl query` on the store's policy directory.
# Skips (exit 77) where FUSE is unavailable.
set -u
cd "$UNISEC_SRCDIR" || exit 1
. tests/lib.sh
need fusermount3 git

U=$UNISEC
TTY="python3 tests/fs/tty_drive.py"
one_mount
D=$M/policy/acl.d
GIT="git -C $S -c user.name=operator -c user.email=operator@example.org"

# changed: the paths the last commit touched, space-separated.
changed() { git -C "$S" show --name-only --format= HEAD | tr '\n' ' '; }
subject() { git -C "$S" log -1 --format=%s; }

# ---- init from a policy directory with acl.d ---------------------------------------------
sed 's/policy: restricted/policy: regular/' mount-examples/paper.yaml >"$T/topo.yaml"
mkdir -p "$T/pol/acl.d"
cp mount-examples/policy/groups mount-examples/policy/credentials "$T/pol/"
printf 'regular * GET /* allow\n' >"$T/pol/acl"
printf 'regular group:staff POST /orders/* allow\n' >"$T/pol/acl.d/10-orders"
printf 'regular group:admins * /admin/* allow\nregular * * /admin/* deny\n' >"$T/pol/acl.d/20-admin"
printf 'junk' >"$T/pol/acl.d/.20-admin.swp"
check "acl check takes the directory with acl.d" "$U" acl check "$T/pol"
check "init takes acl.d" "$U" init "$S" --from "$T/topo.yaml" --policy-dir "$T/pol"
check "the store holds the rules files, not the editor's swap file" \
    test "$(git -C "$S" ls-tree --name-only main policy/acl.d/ | tr '\n' ' ')" = \
    "policy/acl.d/10-orders policy/acl.d/20-admin "
mount_up --daemon --no-run
# The policy's rules by key are made by a thread at the mount, not by the first change of a file.
made() { grep -c "the policy's rules by key made" "$S/.git/unisec.log"; }
check "the mount makes the policy's rules by key off the write path" wait_for 10 sh -c "test \$(grep -c \"rules by key made\" '$S/.git/unisec.log') -ge 1"
check "policy/acl.d is a directory" test -d "$D"
check "it lists the rules files in byte order" test "$(ls "$D" | tr '\n' ' ')" = "10-orders 20-admin "
check "a rules file reads as committed" test "$(cat "$D/20-admin")" = "$(printf 'regular group:admins * /admin/* allow\nregular * * /admin/* deny')"
check "nodes/web/acl holds the rules of every file" sh -c "grep -q '^regular group:staff POST /orders/\* allow' '$M/nodes/web/acl' && grep -q '^regular \* \* /admin/\* deny' '$M/nodes/web/acl'"
check "acl query names the deciding file" sh -c "'$U' acl query '$S/policy' regular bob DELETE /admin/x | grep -q 'acl.d/20-admin:2:'"

# ---- a new file, one commit of that one file ------------------------------------------------
n0=$(commits)
check "echo makes a new rules file" sh -c "echo 'regular alice GET /reports/* allow' >'$D/30-reports'"
check "one commit" test "$(commits)" = $((n0 + 1))
check "of that file only" test "$(changed)" = "policy/acl.d/30-reports "
check "saying so" test "$(subject)" = "policy/acl.d/30-reports: created (1 rules)"
check "it is in the store's work tree" test "$(cat "$S/policy/acl.d/30-reports")" = "regular alice GET /reports/* allow"
check "and listed" test "$(ls "$D" | tr '\n' ' ')" = "10-orders 20-admin 30-reports "
check "with the directory's modes" test "$(stat -c %a "$D/30-reports")" = 644

# ---- append, replace, sed -i, os.replace, vim --------------------------------------------------
n0=$(commits)
check "appending one rule" sh -c "echo 'regular bob GET /reports/q3 deny' >>'$D/30-reports'"
check "is one commit of that file" sh -c "test $(commits) -eq $((n0 + 1)) || test \$(git -C '$S' rev-list --count main) -eq $((n0 + 1))"
check "of that file only (append)" test "$(changed)" = "policy/acl.d/30-reports "
check "counted" test "$(subject)" = "policy/acl.d/30-reports: replaced (1 -> 2 rules)"
check "the other files' blobs are untouched" test "$(git -C "$S" rev-parse HEAD:policy/acl.d/10-orders)" = "$(git -C "$S" rev-parse HEAD~1:policy/acl.d/10-orders)"
check "sed -i edits a rules file" sed -i 's#/reports/q3#/reports/q4#' "$D/30-reports"
check "sed's content" grep -q 'GET /reports/q4 deny' "$D/30-reports"
check "cp replaces one" cp "$T/pol/acl.d/10-orders" "$D/40-copy"
check "os.replace of a temporary file makes another" python3 -c "
import os
p='$D/.50-py.tmp'
open(p,'w').write('regular carol GET /c allow\n')
os.replace(p, '$D/50-py')"
check "which is committed" test "$(git -C "$S" show main:policy/acl.d/50-py)" = "regular carol GET /c allow"
if command -v vim >/dev/null; then
    n0=$(commits)
    check "vim edits a rules file" $TTY ':%s#/c allow#/cc allow#\r|:wq\r' -- \
        vim -u DEFAULTS -i NONE --cmd 'set backupskip=' "$D/50-py"
    check "vim made one commit" test "$(commits)" = $((n0 + 1))
    check "and left no swap or backup file" test "$(ls -A "$D" | tr '\n' ' ')" = "10-orders 20-admin 30-reports 40-copy 50-py "
fi

# ---- refusals ---------------------------------------------------------------------------------
n0=$(commits)
refuse "a bad rule is refused at close" sh -c "printf 'regular bob GET /x allow\nregular bob GETx /y allow\n' | cat >'$D/30-reports'"
check "errors names the file, line and column" grep -q 'policy/acl.d/30-reports:2:13: error: method' "$M/errors"
check "the file keeps its content" grep -q 'GET /reports/q4 deny' "$D/30-reports"
refuse "a rule conflicting with another file's" sh -c "/bin/echo 'regular bob GET /reports/q4 allow' >'$D/60-conflict'"
check "is named with both files" grep -q 'policy/acl.d/60-conflict:1:29: error: rule conflicts with policy/acl.d/30-reports:2' "$M/errors"
check "and not made" test ! -e "$D/60-conflict"
refuse "an undefined group" sh -c "/bin/echo 'regular group:nobody GET /z allow' >'$D/60-group'"
check "is named in its file" grep -q "policy/acl.d/60-group:1:9: error: group 'nobody' is not defined" "$M/errors"
refuse "a name that is no rules file" sh -c "echo 'regular * GET /n allow' >'$D/bad name'"
refuse "nor is a directory made" mkdir "$D/sub"
check "nothing was committed" test "$(commits)" = "$n0"
check "editors' temporary names are temporary files" sh -c "echo x >'$D/4913' && echo y >'$D/.x.swp' && echo z >'$D/x~' && rm '$D/4913' '$D/.x.swp' '$D/x~'"
check "and not committed" test "$(commits)" = "$n0"

# ---- removal ------------------------------------------------------------------------------------
check "rm removes a rules file" rm "$D/40-copy"
check "as one commit" test "$(subject)" = "policy/acl.d/40-copy: removed (1 rules)"
check "gone from the listing" test ! -e "$D/40-copy"
check "and from the store" sh -c "! git -C '$S' cat-file -e main:policy/acl.d/40-copy"
refuse "removing a file that is not there" rm "$D/40-copy"
# The last rule of policy regular (which the nodes enforce): refused.
m0=$(made)
printf 'other * GET / allow\n' >"$M/policy/acl" || bad "policy/acl moved to policy other"
check "a change of policy/acl is checked by key" grep -q "policy/acl: checked by key, the lines that differ" "$S/.git/unisec.log"
check "and the rules by key are not made again" test "$(made)" = "$m0"
for f in 10-orders 20-admin 30-reports; do rm "$D/$f" || bad "rm $f"; done
refuse "removing the last file with rules of a policy in use" rm "$D/50-py"
check "is explained" grep -q "policy .regular. has no rule in policy/acl or policy/acl.d" "$M/errors"
check "and the file stays" test -f "$D/50-py"

# ---- changes from outside; remount ----------------------------------------------------------------
printf 'regular dave GET /d allow\n' >"$S/policy/acl.d/70-wt"
check "a work-tree edit of a new rules file is committed" wait_for 10 git -C "$S" cat-file -e main:policy/acl.d/70-wt
check "and served" wait_for 10 test -f "$D/70-wt"
# The daemon commits work-tree edits too: when it takes this file first, git has nothing to commit.
outside_commit() { $GIT add "$1" && { $GIT commit -q -m "$2" || git -C "$S" cat-file -e "main:$1"; }; }
printf 'regular erin GET /e allow\n' >"$S/policy/acl.d/80-git"
outside_commit policy/acl.d/80-git 'add 80-git' || bad "git commit"
check "a commit made outside is served" wait_for 10 test -f "$D/80-git"
printf 'regular erin GET /e deny\n' >"$S/policy/acl.d/90-bad"
$GIT add policy/acl.d/90-bad && $GIT commit -q -m 'conflicting' || bad "git commit"
check "an invalid outside commit is refused, naming the file" wait_for 10 grep -q 'policy/acl.d/90-bad:1:' "$M/errors"
check "and not served" test ! -e "$D/90-bad"
# The daemon may commit git rm's deletion as a work-tree edit before git commit does.
outside_rm policy/acl.d/90-bad 'drop it' || bad "git rm"
check "its removal is served again" wait_for 10 sh -c "grep -q \"drop it\\|90-bad: edited in the store's work tree\" '$M/events'"
printf 'regular frank GET /f allow\n' >"$S/policy/acl.d/0100"
outside_commit policy/acl.d/0100 'add 0100' || bad "git commit"
check "a committed rules file whose name the mount keeps for editors (digits) is served" \
    wait_for 10 sh -c "test -f '$D/0100' && grep -q frank '$D/0100'"
check "and removed through the mount" rm "$D/0100"
check "its removal committed" sh -c "! git -C '$S' cat-file -e main:policy/acl.d/0100"
umount_wait || bad "unmount"
mount_up --daemon --no-run
check "after a remount the files are served" test "$(ls "$D" | tr '\n' ' ')" = "50-py 70-wt 80-git "
check "acl check of the store's policy directory" "$U" acl check "$S/policy"

echo "acld: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
