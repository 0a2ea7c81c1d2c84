#!/bin/sh
# tests/orch/outside_rules.sh — rules files changed by an operator's `git commit` in the store,
# taken in by a real mount on spt with a push PDP, each decision seen over HTTP: a commit that
# changes one policy/acl.d file, one that renames it, one that removes it, one that changes two
# (a rule moved with the other effect; then two rules that conflict), one that changes
# policy/acl itself. Then hostile commits (a line of 1 MiB, a file of 65 MiB, bytes that are
# not UTF-8, a rules file replaced by a symbolic link, a directory in policy/acl.d) are each
# refused naming the file (and line) and why, and the last good rules stay enforced. Skips (77)
# without /dev/fuse, curl or git.
set -u
cd "$UNISEC_SRCDIR" || exit 1
. tests/lib.sh
U=$UNISEC
need fusermount3 curl git python3
one_mount
GIT="git -C $S -c user.name=operator -c user.email=operator@example.org"
D=$S/policy/acl.d

# expect CODE WHAT [PATH]: the status an anonymous GET PATH (/probe/x) gets from web, on a new
# connection.
expect() {
    got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 "http://127.0.0.1:$P${3:-/probe/x}")
    if [ "$got" = "$1" ]; then ok; else bad "$2: got $got, expected $1"; fi
}
# commit MSG: everything staged committed by the operator; then the mount has taken main in
# (it serves main's head, or names it refused in errors). A staged change is left to the
# operator's commit (fs/MOUNT.md), but the files here are edited before `git add` stages them:
# on a loaded machine the daemon may take the unstaged edit first and commit it itself, as it
# should: then that commit is what is checked.
commit() {
    if ! $GIT commit -q -m "$1" 2>/dev/null; then
        git -C "$S" log -1 --format=%s main | grep -q "edited in the store's work tree" ||
            bad "git commit $1"
        echo "note: $1: taken in as a work-tree edit before git commit ran"
        return
    fi
    head=$(git -C "$S" rev-parse --short=12 main)
    wait_for 20 sh -c "grep -q 'external commit $head' '$M/events'" || bad "$1: not taken in"
}
served() { wait_for 20 sh -c "grep -q . '$M/policy/acl.d/$1' 2>/dev/null"; }
# refused MSG TEXT: the last commit is refused, errors saying TEXT; the old decision stays.
refused() {
    check "$1: refused, errors naming it" wait_for 20 grep -q "refused external commit $(git -C "$S" rev-parse --short=12 main).*$2" "$M/errors"
    expect 401 "$1: the last good rules stay enforced"
    settled "$1"
}

P=$(freeport)
web_topology push "$P" >"$T/topo.yaml"
mkdir -p "$T/pol/acl.d"
cp mount-examples/policy/groups mount-examples/policy/credentials "$T/pol/"
printf 'regular * GET /* allow\n' >"$T/pol/acl"
for f in 10-a 20-b 30-c; do printf 'regular * GET /%s/* deny\n' "$f" >"$T/pol/acl.d/$f"; done

check "init" "$U" init "$S" --from "$T/topo.yaml" --policy-dir "$T/pol"
check "the mount is served" mount_up -o target=spt
settled "mount"
expect 200 "before any change"

# ---- one rules file changed, renamed, removed; policy/acl changed ---------------------------
printf 'regular * GET /20-b/* deny\nregular * GET /probe/* deny\n' >"$D/20-b"
$GIT add policy/acl.d/20-b
commit "20-b: deny /probe"
settled "one file changed"
expect 401 "one file changed: its new rule enforced"
check "the mount serves it" grep -q probe "$M/policy/acl.d/20-b"

# A rename changes two files: checked by key as one change, not put together whole (after
# which a thread makes the rules by key again, and the log says so).
made=$(grep -c "the policy's rules by key made" "$T/daemon.log")
$GIT mv policy/acl.d/20-b policy/acl.d/25-b
commit "20-b renamed 25-b"
settled "one file renamed"
check "the rename was checked by key, the policy not put together whole" test "$(grep -c "the policy's rules by key made" "$T/daemon.log")" = "$made"
check "the mount serves the new name" served 25-b
check "and not the old one" sh -c "! test -e '$M/policy/acl.d/20-b'"
expect 401 "one file renamed: its rules still enforced"

# The renamed file's old version is held by no served policy any more: the removal's rules
# must not be read from it once freed (they were, and the change was lost).
$GIT rm -q policy/acl.d/25-b
commit "25-b removed"
settled "one file removed"
expect 200 "one file removed after a rename: its rule gone"
check "the mount no longer serves it" sh -c "! test -e '$M/policy/acl.d/25-b'"

# Two files in one commit: a rule moved from 30-c to 10-a with the other effect (each new file
# checked against the other's new rules, not its old ones), then two new rules that conflict.
expect 401 "before the move" /30-c/x
printf 'regular * GET /10-a/* deny\nregular * GET /30-c/* allow\n' >"$D/10-a"
printf 'regular * GET /other/* deny\n' >"$D/30-c"
$GIT add policy/acl.d/10-a policy/acl.d/30-c
commit "a rule moved, its effect changed"
settled "a rule moved"
expect 200 "a rule moved to another file with the other effect" /30-c/x
expect 401 "the other file's new rule" /other/x
printf 'regular * GET /10-a/* deny\nregular * GET /30-c/* allow\nregular * GET /k/* allow\n' >"$D/10-a"
printf 'regular * GET /other/* deny\nregular * GET /k/* deny\n' >"$D/30-c"
$GIT add policy/acl.d/10-a policy/acl.d/30-c
commit "two new rules that conflict"
check "two files' new rules that conflict: refused, naming both" wait_for 20 grep -q "refused external commit.*policy/acl.d/30-c:2:.*conflicts with policy/acl.d/10-a:3" "$M/errors"
expect 200 "the last good rules stay" /30-c/x
$GIT reset -q --hard HEAD~1

printf 'regular * GET /* allow\nregular * GET /probe/* deny\n' >"$S/policy/acl"
$GIT add policy/acl
commit "policy/acl: deny /probe"
settled "policy/acl changed"
expect 401 "policy/acl changed: its new rule enforced"
good=$(git -C "$S" rev-parse main)

# ---- hostile commits: refused with file, line and reason; the last good rules stay ---------
python3 -c 'import sys; sys.stdout.write("regular * GET /" + "x" * (1 << 20) + " allow\n")' >"$D/30-c"
$GIT add policy/acl.d/30-c
commit "a line of 1 MiB"
refused "a line of 1 MiB" "policy/acl.d/30-c:1:"
$GIT reset -q --hard "$good"

# Larger than a policy file may be: refused from its size, never read.
head -c $((65 << 20)) /dev/zero | tr '\0' '#' >"$D/30-c"
$GIT add policy/acl.d/30-c
commit "a rules file of 65 MiB"
refused "a rules file of 65 MiB" "policy/acl.d/30-c: error: 68157440 bytes: a policy file holds at most"
$GIT reset -q --hard "$good"

printf 'regular * GET /ok/* deny\nregular * GET /\377\376/* deny\n' >"$D/30-c"
$GIT add policy/acl.d/30-c
commit "bytes that are not UTF-8"
refused "bytes that are not UTF-8" "policy/acl.d/30-c:2:"
$GIT reset -q --hard "$good"

rm "$D/10-a" && ln -s ../acl "$D/10-a"
$GIT add policy/acl.d/10-a
commit "10-a made a symbolic link"
refused "a symbolic link" "policy/acl.d/10-a.*symbolic link"
$GIT reset -q --hard "$good"

mkdir "$D/40-dir" && printf 'regular * GET /probe/* allow\n' >"$D/40-dir/x"
$GIT add policy/acl.d/40-dir
commit "a directory in policy/acl.d"
refused "a directory" "policy/acl.d/40-dir.*directory"
$GIT reset -q --hard "$good"

# Back at the last good commit (git reset), the mount serves it again.
printf 'regular * GET /* allow\n' >"$S/policy/acl"
$GIT add policy/acl
commit "policy/acl: /probe allowed again"
settled "a good commit after the refused ones"
expect 200 "a good commit after the refused ones is enforced"

check "unmount" umount_wait
wait "$fgpid"
fgpid=
check "the daemon's log has no sanitizer report" sh -c "! grep -q 'Sanitizer' '$T/daemon.log'"
echo "outside_rules: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
