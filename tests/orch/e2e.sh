#!/bin/sh
# tests/orch/e2e.sh — from a write in the mount to enforcement in running unikernels: a real
# mount starts real instances; curl sees a level flip, and ACL lines in each PDP mode (push,
# internal, pull) take effect and are taken back out by `git revert` in the store; a broken
# module source makes a build fail while the old instance keeps serving; under load (ab, 100
# connections) level flips and ACL pushes fail no request; unmount stops every instance.
# Skips (77) without /dev/fuse, curl, ab or git.
set -u
cd "$UNISEC_SRCDIR" || exit 1
. tests/lib.sh
need fusermount3 curl ab git python3

U=$UNISEC
one_mount
W=$M/nodes/web
GIT="git -C $S -c user.name=operator -c user.email=operator@example.org"
export UNISEC_CACHE_DIR=${UNISEC_TEST_CACHE:-$T/cache}
mkdir -p "$T/src"
# A failure also keeps what web showed then (its status, the end of its console), printed at
# the end with the daemon's log: enough to tell a request served without rules from one lost.
bad() {
    echo "FAIL: $*"; fail=$((fail + 1))
    mount_check "failing: $*"
    [ -f "$M/README" ] || return 0
    { echo "--- at '$*' ($(date +%T.%N)): web's status, then the end of its console"
      cat "$W/status"; tail -n 30 "$W/console"; } >>"$T/diag" 2>&1
}
# code URL-PATH [CURL-ARGS...]: the status code web answers (the body goes to $T/body).
code() { p=$1; shift; curl -s -o "$T/body" -w '%{http_code}' --max-time 10 "$@" "http://127.0.0.1:$P1$p"; }
# expect CODE WHAT PATH [CURL-ARGS...]
expect() {
    want=$1; what=$2; shift 2
    got=$(code "$@")
    if [ "$got" = "$want" ]; then ok; else
        bad "$what: got $got, expected $want; body: $(head -c 200 "$T/body" 2>/dev/null | tr '\n' ' ')"
    fi
}
# failed_settle WHAT: reads settle after a failure: the report, then cat fails (EIO); and
# `unisec status` exits 4 (a node failed).
failed_settle() {
    out=$(cat "$M/settle" 2>"$T/settle.err"); rc=$?
    case $out in *"failed"*) ok ;; *) bad "$1: settle says: $out" ;; esac
    case "$rc $(cat "$T/settle.err")" in [1-9]*"Input/output error"*) ok ;;
        *) bad "$1: cat settle exited $rc: $(cat "$T/settle.err")" ;; esac
    cat "$M/settle.json" >"$T/settle.json" 2>/dev/null; rc=$?
    python3 -c "import json, sys; j = json.load(open(sys.argv[1])); sys.exit(not j['failed'] or
        not any(n['state'] == 'failed' or n.get('error') for n in j['status']))" "$T/settle.json" &&
        [ $rc != 0 ] && ok || bad "$1: cat settle.json exited $rc: $(cat "$T/settle.json")"
    "$U" status --store "$S" >/dev/null 2>&1; rc=$?
    if [ $rc = 4 ]; then ok; else bad "$1: unisec status exited $rc, not 4"; fi
}
B="-u bob:bob-demo-password"

# Two free ports for web and portal.
set -- $(python3 -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
P1=$1 P2=$2
sed -e "s/http_port: 8080/http_port: $P1/" -e "s/listen_port: 8000/listen_port: $P2/" \
    tests/builder/e2e/topology.yaml >"$T/topo.yaml"
# The sources the daemon builds from: a copy, so that a test can break one.
cp -r guest common contract "$T/src/"

check "init" "$U" init "$S" --from "$T/topo.yaml" --policy-dir mount-examples/policy
check "the mount is served" mount_up UNISEC_SOURCE_DIR="$T/src"

# ---- start: every node runs at its level ---------------------------------------------------
settled "mount"
check "unisec status exits 0: served, no node failed" "$U" status --store "$S"
case $(cat "$W/status") in running\ image*level\ default*pdp\ push*acked*pid*) ok ;;
    *) bad "web's status: $(cat "$W/status")" ;; esac
check "status.json is JSON saying running" python3 -c "import json,sys; d=json.load(open('$W/status.json')); sys.exit(d['state'] != 'running' or not d['pid'] or d['level'] != 'default')"
check "nodes/web/image points into images/" sh -c "readlink '$W/image' | grep -q '^../../images/[0-9a-f]\{40\}\$'"
check "the image's manifest is served" python3 -c "import json; json.load(open('$W/image/manifest.json'))"
check "and its build log" test -f "$W/image/build.log"
check "the console is served" test -r "$W/console"
check "the deployment is recorded on the host's ref" sh -c "$GIT log --format=%s refs/unisec/deployed/local | grep -q '^deploy: web -> image [0-9a-f]* (default, push v[0-9]*)'"
check "the deployment names whose change it realises" sh -c "$GIT log -1 --format=%b --grep='^deploy: web' refs/unisec/deployed/local | grep -q 'Realises'"
check "main holds no deployment record" sh -c "! $GIT log --format=%s main | grep -q '^deploy:'"
check "web's status says what its host last deployed" grep -q "^last deployed by host local: image=" "$W/status"
check "events tell the steps" grep -q "web: deployed image" "$M/events"
expect 200 "default (push, regular): anonymous read" /catalogue/x
expect 401 "default: anonymous /admin" /admin/users
check "the portal relays to web" sh -c "curl -s --max-time 10 http://127.0.0.1:$P2/public/x | grep -q public"

# ---- a level flip and back -----------------------------------------------------------------
id0=$(readlink "$W/image")
echo critical >"$W/security_level"
settled "critical"
expect 401 "critical (internal, restricted): anonymous read" /catalogue/x
expect 200 "critical: staff reads" /catalogue/x $B
check "the image changed" test "$(readlink "$W/image")" != "$id0"
case $(cat "$W/status") in running*level\ critical*) ok ;; *) bad "status at critical: $(cat "$W/status")" ;; esac
check "the flip's deployment is a record" sh -c "$GIT log -1 --format=%s refs/unisec/deployed/local | grep -q '^deploy: web -> image [0-9a-f]* (critical, internal'"
check "the portal was not touched" sh -c "[ \$($GIT log --format=%s refs/unisec/deployed/local | grep -c '^deploy: portal') = 1 ]"
echo default >"$W/security_level"
settled "default again"
expect 200 "default again: anonymous read" /catalogue/x
check "the image is the first one again" test "$(readlink "$W/image")" = "$id0"

# ---- ACL lines in each PDP mode, and git revert ---------------------------------------------
# acl_line MODE LEVEL LINE PATH CURL-ARGS CODE-BEFORE CODE-AFTER
acl_line() {
    mode=$1 level=$2 line=$3 path=$4 args=$5 before=$6 after=$7
    echo "$level" >"$W/security_level"
    settled "$mode: level $level"
    # shellcheck disable=SC2086
    expect "$before" "$mode: before the ACL line" "$path" $args
    echo "$line" >>"$M/policy/acl"
    settled "$mode: ACL line"
    # shellcheck disable=SC2086
    expect "$after" "$mode: the ACL line is enforced" "$path" $args
    # Internal: the new rules made a new image from the level's linked code, no compiler run.
    if [ "$mode" = internal ]; then
        check "internal: the rules were placed in linked code" grep -q "linked before (no compiler or linker run)" "$W/image/build.log"
        check "internal: no compiler or linker ran for the change" sh -c "! grep -q '^\$ cc' '$W/image/build.log'"
    fi
    c=$($GIT log --format=%H -1 --grep='^policy/acl')
    $GIT revert --no-edit "$c" >/dev/null 2>&1 || bad "$mode: git revert failed"
    check "$mode: the mount serves the reverted policy" wait_for 10 sh -c "! grep -qF -- '$line' '$M/policy/acl'"
    settled "$mode: revert"
    # shellcheck disable=SC2086
    expect "$before" "$mode: git revert takes the line out" "$path" $args
}
acl_line push default "regular * GET /catalogue/* deny" /catalogue/x "" 200 401
# A line changed goes to the running instance as a patch over the blob it holds, not whole.
check "push: the change went as a patch" grep -q "web: policy regular v[0-9]* pushed as a patch over v" "$M/events"
check "push: the guest applied a patch" grep -q "acl_pep: policy version [0-9]* in force (patch over v" "$W/console"
acl_line internal critical "restricted group:staff GET /catalogue/* deny" /catalogue/x "$B" 200 403
# Internal images are collected: after four more rule changes at the critical level, the
# image directory keeps what runs, every level's current image and the two newest of each
# node's level (orch/orch_collect.c), not one image per change.
for k in 1 2 3 4; do
    echo "restricted * GET /gc$k/* deny" >>"$M/policy/acl"
    settled "internal: rule change $k"
done
# shellcheck disable=SC2086
expect 403 "internal: the last change is enforced" /gc4/x $B
check "internal: images no longer needed are removed" wait_for 10 grep -q "images: [0-9]* no longer needed removed" "$M/events"
check "internal: at most 3 images of the critical level are kept" wait_for 10 sh -c "[ \$(grep -l '\"level\": \"critical\"' '$S'/.git/unisec-images/*/manifest.json | wc -l) -le 3 ]"
check "internal: the running image is kept" test -f "$W/image/image"
check "internal: the default level's image is kept" test -d "$S/.git/unisec-images/${id0##*/}"
acl_line pull pulled "regular * GET /catalogue/* deny" /catalogue/x "" 200 401
# A pull decision names its rule in the access log, as push and internal ones do.
check "pull: the access log names the rule that denied" \
    sh -c "grep '\"GET /catalogue/x\" 401' '$W/access_log' | tail -n 1 | grep -Eq ' deny regular:[1-9][0-9]*\$'"
check "pull: and the rule that allowed" \
    sh -c "grep '\"GET /catalogue/x\" 200' '$W/access_log' | tail -n 1 | grep -Eq ' allow regular:[1-9][0-9]*\$'"
case $(cat "$W/status") in running*level\ pulled*pdp\ pull*) ok ;; *) bad "status at pulled: $(cat "$W/status")" ;; esac
echo default >"$W/security_level"
settled "back to default"

# ---- a broken module source: the build fails, the old instance keeps serving ---------------
id0=$(readlink "$W/image")
# (Unique text: the builder caches objects by the hash of their source, and a copy of this
# source fixed while an earlier run still compiled it may sit in the cache under that hash.)
echo "#error this module is broken on purpose ($$ $(date +%s%N))" >>"$T/src/guest/modules/dispatch/dispatch.c"
echo "GET /* 200 text/plain changed" >"$W/properties/routes"
failed_settle "settle after a broken build"
case $(cat "$W/status") in failed*|running*"last change failed: build of level default failed"*) ok ;;
    *) bad "status after a broken build: $(cat "$W/status")" ;; esac
check "the reason is in events" grep -q "build of level default failed" "$M/events"
check "the old image still runs" test "$(readlink "$W/image")" = "$id0"
expect 200 "the old instance keeps serving" /catalogue/x
sed -i '/broken on purpose/d' "$T/src/guest/modules/dispatch/dispatch.c"
echo "GET /* 200 text/plain changed again" >"$W/properties/routes"
settled "fixed source"
check "the new routes serve" sh -c "curl -s --max-time 10 http://127.0.0.1:$P1/x | grep -q 'changed again'"

# ---- under load: 20 level flips and 20 ACL pushes, no failed request -------------------------
# bob reads /public/x: allowed at every level, so every answer must be 200. ab runs for a
# fixed time (an interrupted ab counts its requests in flight as failed), longer than the
# flips take here; the test checks it was still running when they ended.
ab -l -r -q -c 100 -t 60 -n 100000000 -A bob:bob-demo-password \
    "http://127.0.0.1:$P1/public/x" >"$T/ab.out" 2>&1 &
abpid=$!
# ab counts answers other than 2xx but does not say which: a second client beside it keeps
# every such answer (time, code, body, the last event), to read against the daemon's log.
(
    while :; do
        c=$(curl -s -o "$T/probe.body" -w '%{http_code}' --max-time 10 -u bob:bob-demo-password \
            "http://127.0.0.1:$P1/public/x")
        [ "$c" = 200 ] || echo "$(date +%T.%N) $c $(head -c 200 "$T/probe.body" | tr '\n' ' ')" \
            "(last event: $(tail -n 1 "$M/events"))"
        sleep 0.05
    done
) >"$T/probe.out" 2>&1 &
bgpids=$!
sleep 0.5
i=0
while [ $i -lt 20 ]; do
    i=$((i + 1))
    echo critical >"$W/security_level"; cat "$M/settle" >/dev/null
    echo default >"$W/security_level"; cat "$M/settle" >/dev/null
    echo "regular * GET /load$i/* deny" >>"$M/policy/acl"; cat "$M/settle" >/dev/null
done
check "ab was still running when the flips ended" kill -0 $abpid
wait $abpid
kill $bgpids; wait $bgpids 2>/dev/null; bgpids=
done=$(sed -n 's/^Complete requests: *//p' "$T/ab.out")
failed=$(sed -n 's/^Failed requests: *//p' "$T/ab.out")
non2xx=$(sed -n 's/^Non-2xx responses: *//p' "$T/ab.out")
echo "under load: ${done:-?} requests, ${failed:-?} failed, ${non2xx:-0} non-2xx"
check "ab completed requests" test "${done:-0}" -gt 0
check "no request failed during the flips and pushes" test "${failed:-1}" = 0
check "no request was answered other than 200" test "${non2xx:-0}" = 0
# What the probe beside ab saw that was not 200 (code, body, the last event), to tell why.
[ ! -s "$T/probe.out" ] || { echo "the probe's answers other than 200:"; head -20 "$T/probe.out"; }
check "the second client was answered 200 each time" test ! -s "$T/probe.out"
check "40 level flips and 20 pushes were deployed" sh -c "[ \$($GIT log --format=%s refs/unisec/deployed/local | grep -c '^deploy: web') -ge 60 ]"

# ---- unmount stops every instance ------------------------------------------------------------
pids=$(python3 -c "import json; print(json.load(open('$W/status.json'))['pid'])")
check "unmount" fusermount3 -u "$M"
check "the daemon ends" wait_for 20 sh -c "! kill -0 $fgpid"
fgpid=
check "the instance is gone" sh -c "! kill -0 $pids"
check "its port is closed" test "$(code /catalogue/x)" = 000

# ---- a restart rebuilds from the store; a port another process holds is a clear error -------
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); open(sys.argv[2], "w").close()
time.sleep(120)' "$P1" "$T/held" &
holder=$!
check "another process holds web's port" wait_for 20 test -f "$T/held"
check "the mount is served again" mount_up --log-to "$T/daemon2.log" UNISEC_SOURCE_DIR="$T/src"
failed_settle "settle with web's port taken"
case $out in *"1 of 2 nodes failed"*) ok ;; *) bad "settle with web's port taken: $out" ;; esac
case $(cat "$W/status") in failed*"in use"*) ok ;; *) bad "status with web's port taken: $(cat "$W/status")" ;; esac
check "portal runs again (from the store, at its level)" grep -q "^running" "$M/nodes/portal/status"
kill $holder; wait $holder 2>/dev/null
check "unmount" fusermount3 -u "$M"
check "the daemon ends" wait_for 20 sh -c "! kill -0 $fgpid"
fgpid=
"$U" status --store "$S" >/dev/null 2>&1; rc=$?
if [ $rc = 3 ]; then ok; else bad "unisec status exited $rc once unmounted, not 3"; fi

check "the daemon's logs hold no sanitizer report" sh -c "! grep -q 'Sanitizer' '$T/daemon.log' '$T/daemon2.log'"

if [ "$fail" != 0 ]; then
    echo "--- ab"; cat "$T/ab.out"
    echo "--- answers other than 200 to the second client under load"; cat "$T/probe.out"
    [ -f "$T/diag" ] && cat "$T/diag"
    echo "--- the daemon's log"; cat "$T/daemon.log"
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
