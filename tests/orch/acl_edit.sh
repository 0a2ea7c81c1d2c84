#!/bin/sh
# tests/orch/acl_edit.sh — edits of policy/acl itself (a policy with no acl.d file, then with one)
# through a real mount on spt with a push PDP, each decision seen over HTTP: a rule appended, a
# rule that shadows it inserted in the middle, a duplicate inserted earlier and the later copy
# removed, a line moved, then refusals (a rule conflicting with another line, a bad method, a rule
# conflicting with an acl.d file's) naming file, line and reason with the last good rules kept,
# then operators' commits of policy/acl alone and of policy/acl with an acl.d file. Each change is
# checked by key from the lines that differ (the daemon's log says so, and the policy's rules by
# key are made once, at the mount, never again), not by putting the whole policy together. Skips
# (77) without /dev/fuse, curl or git.
set -u
cd "$UNISEC_SRCDIR" || exit 1
. tests/lib.sh
U=$UNISEC
need fusermount3 curl git python3
one_mount
GIT="git -C $S -c user.name=operator -c user.email=operator@example.org"
A=$M/policy/acl

settled() {
    wait_for 30 sh -c "grep -q 'nodes run what is desired' '$M/settle'" || bad "$1: settle says: $(head -1 "$M/settle")"
}
# expect CODE WHAT PATH: the status an anonymous GET PATH gets from web, on a new connection.
expect() {
    got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 "http://127.0.0.1:$P$3")
    if [ "$got" = "$1" ]; then ok; else bad "$2: got $got, expected $1"; fi
}
logs() { cat "$T/daemon.log" 2>/dev/null; }
bykey() { logs | grep -c "policy/acl: checked by key, the lines that differ"; }
made() { logs | grep -c "the policy's rules by key made"; }
# edit PYTHON: policy/acl's lines (L, a list) changed by PYTHON and written back through the
# mount in one write (what an editor's save does).
edit() {
    python3 - "$A" "$1" <<'PY'
import sys
path, code = sys.argv[1], sys.argv[2]
L = open(path).read().splitlines(keepends=True)
exec(code)
with open(path, "w") as f:
    f.write("".join(L))
PY
}
lines() { wc -l <"$A" | tr -d ' '; }

P=$(freeport)
web_topology push "$P" >"$T/topo.yaml"
mkdir -p "$T/pol"
cp mount-examples/policy/groups mount-examples/policy/credentials "$T/pol/"
{
    printf 'regular * GET /* allow\n'
    i=0
    while [ $i -lt 2000 ]; do printf 'regular * GET /f%d/* deny\n' $i; i=$((i + 1)); done
} >"$T/pol/acl"

check "init" "$U" init "$S" --from "$T/topo.yaml" --policy-dir "$T/pol"
check "the mount is served" mount_up -o target=spt
settled "mount"
expect 200 "before any change" /probe/x
# A policy of policy/acl alone has its rules by key made at the mount, off any write's path.
check "the rules by key are made at the mount" wait_for 20 sh -c "grep -q 'rules by key made' '$T/daemon.log'"
m0=$(made)

# ---- edits through the mount ---------------------------------------------------------------
n0=$(bykey)
check "appending one rule to policy/acl" sh -c "echo 'regular * GET /probe/* deny' >>'$A'"
settled "appended"
expect 401 "the appended rule is enforced" /probe/x
check "checked by key from the lines that differ" test "$(bykey)" -gt "$n0"
check "one rule in force changed" sh -c "grep 'policy/acl: checked by key' '$T/daemon.log' | tail -1 | grep -q ': 1 rules in force changed'"

check "a rule that shadows it inserted in the middle" edit 'L.insert(1000, "regular * GET /probe/x allow\n")'
settled "shadowing rule"
expect 200 "the exact path shadows the prefix" /probe/x
expect 401 "the prefix still decides the rest" /probe/y

check "a duplicate of the deny inserted earlier" edit 'L.insert(10, "regular * GET /probe/* deny\n")'
settled "duplicate"
check "the later copy removed" edit 'L.pop()'
settled "later copy removed"
expect 401 "the earlier copy keeps the rule in force" /probe/y
check "the earlier copy removed too" edit 'L.pop(10)'
settled "earlier copy removed"
expect 200 "no copy left: the rule is gone" /probe/y

check "the deny appended again" sh -c "echo 'regular * GET /probe/* deny' >>'$A'"
settled "appended again"
n0=$(bykey)
check "a line moved from the end to the top" edit 'L.insert(0, L.pop())'
settled "moved"
expect 401 "a moved rule stays in force" /probe/y
check "a move changes no rule in force" sh -c "cat '$T/daemon.log' | grep 'policy/acl: checked by key' | tail -1 | grep -q ': 0 rules in force changed'"
check "and is checked by key" test "$(bykey)" -gt "$n0"

# ---- refusals: file, line and reason; the last good rules stay -----------------------------
before=$(git -C "$S" rev-parse main)
refuse "a rule conflicting with another line is refused" sh -c "echo 'regular * GET /probe/* allow' >>'$A'"
check "errors names policy/acl, the line and the other line" grep -q "policy/acl:$(($(lines) + 1)):[0-9]*: error: rule conflicts with line 1" "$M/errors"
expect 401 "the last good rules stay" /probe/y
refuse "a bad method is refused" sh -c "echo 'regular * GETx /z allow' >>'$A'"
check "errors names the line and column" grep -q "policy/acl:$(($(lines) + 1)):11: error: method" "$M/errors"
check "policy/acl keeps its content" test "$(tail -1 "$A")" = "regular * GET /f1999/* deny"
check "nothing was committed" test "$(git -C "$S" rev-parse main)" = "$before"

check "an acl.d file made" sh -c "echo 'regular * GET /q/* deny' >'$M/policy/acl.d/50-q'"
settled "acl.d file"
expect 401 "its rule enforced" /q/x
refuse "a rule of policy/acl conflicting with the acl.d file's" sh -c "echo 'regular * GET /q/* allow' >>'$A'"
check "is reported at the later file's rule, naming policy/acl's line" grep -q "policy/acl.d/50-q:1:[0-9]*: error: rule conflicts with policy/acl:$(($(lines) + 1))" "$M/errors"
expect 401 "the last good rules stay" /q/x

# ---- operators' commits of policy/acl --------------------------------------------------------
# commit MSG: everything staged committed by the operator; then the mount has taken main in. On
# a loaded machine the daemon may commit the work-tree edit itself first (fs/MOUNT.md).
commit() {
    if ! $GIT commit -q -m "$1" 2>/dev/null; then
        git -C "$S" log -1 --format=%s main | grep -q "edited in the store's work tree" ||
            bad "git commit $1"
        return
    fi
    head=$(git -C "$S" rev-parse --short=12 main)
    wait_for 20 sh -c "grep -q 'external commit $head' '$M/events'" || bad "$1: not taken in"
}
n0=$(bykey)
sed -i '1d' "$S/policy/acl" # the deny moved to the top, taken out
$GIT add policy/acl
commit "policy/acl: /probe allowed again"
settled "outside commit of policy/acl"
expect 200 "an outside commit of policy/acl is enforced" /probe/y
check "checked by key" test "$(bykey)" -gt "$n0"

# policy/acl and an acl.d file in one commit: the rule moved to policy/acl with the other effect.
echo 'regular * GET /q/* allow' >>"$S/policy/acl"
: >"$S/policy/acl.d/50-q"
$GIT add policy/acl policy/acl.d/50-q
commit "the /q rule moved to policy/acl, allowed"
settled "policy/acl and an acl.d file"
expect 200 "a rule moved from an acl.d file to policy/acl with the other effect" /q/x
check "both checked by key together" sh -c "cat '$T/daemon.log' | grep -q '1 rules files and policy/acl changed at once, checked by key'"
check "the rules by key were never made again" test "$(made)" = "$m0"

check "unmount" umount_wait
wait "$fgpid"
fgpid=
check "the daemon's log has no sanitizer report" sh -c "! grep -q 'Sanitizer' '$T/daemon.log'"
echo "acl_edit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
