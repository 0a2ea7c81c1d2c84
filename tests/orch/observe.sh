#!/bin/sh
# tests/orch/observe.sh — what an operator observes of a real mount running real guests: the
# `metrics` file parses with prometheus_client's text-format parser and its counters move as
# the steps happen (a start, a level write and its swap, a refused write, a policy push and
# its acknowledgement, a build a property needs, requests and decisions per node); the same
# over HTTP (-o metrics=), which refuses junk (http_probe.py); each node's access_log and
# console follow (`tail -f` shows a request made after it started; a reader waiting in poll(2)
# is woken by a request, as one of events, events.json and errors by a refused write) and rotate on disk
# (-o nodelog_max, nodelog_keep); inotifywait hears of a node's status during a swap and of
# its level, history and events after a write, and each file's mtime is that of its last
# change (find -newer). Skips (77) without /dev/fuse, curl, git, inotifywait, python3 or
# python3-prometheus-client.
set -u
cd "$UNISEC_SRCDIR" || exit 1
. tests/lib.sh
need fusermount3 curl git inotifywait python3
# The Debian package's module is for Debian's python3, which may not be the first in PATH.
PY=
for p in python3 /usr/bin/python3; do
    "$p" -c 'import prometheus_client' 2>/dev/null && { PY=$p; break; }
done
[ -n "$PY" ] || { echo "SKIP: python3-prometheus-client is not installed"; exit 77; }

U=$UNISEC
one_mount
W=$M/nodes/web
export UNISEC_CACHE_DIR=${UNISEC_TEST_CACHE:-$T/cache}
# snap NAME: keeps a copy of metrics as $T/NAME, checked by the parser.
snap() {
    cp "$M/metrics" "$T/$1"
    check "metrics parse ($1)" "$PY" tests/orch/metrics.py "$T/$1"
}
# val SNAP SAMPLE: a sample's value in a kept copy, as an integer.
val() { "$PY" tests/orch/metrics.py "$T/$1" "$2" | sed 's/\.0$//'; }
# moved WHAT SAMPLE FROM TO BY: the sample went up by exactly BY (or "+", at least 1).
moved() {
    a=$(val "$3" "$2") b=$(val "$4" "$2")
    case $a$b in *-*) bad "$1: $2 is missing ($a, $b)"; return ;; esac
    if [ "$5" = + ]; then
        [ "$b" -gt "$a" ] && ok || bad "$1: $2 did not move ($a -> $b)"
    else
        [ "$((b - a))" = "$5" ] && ok || bad "$1: $2 moved by $((b - a)), expected $5"
    fi
}

set -- $(python3 -c 'import socket
s = [socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
sed -e "s/http_port: 8080/http_port: $1/" -e "s/listen_port: 8000/listen_port: $2/" \
    tests/builder/e2e/topology.yaml >"$T/topo.yaml"

MPORT=$3
URL=http://127.0.0.1:$1

check "init" "$U" init "$S" --from "$T/topo.yaml" --policy mount-examples/policy
check "nonotify is unisec's option; an unknown one goes to libfuse, which refuses it" sh -c \
    "! '$U' mount -f -o nonotify,bogus_option --store '$S' '$M' 2>/dev/null"
check "a metrics address that is no address is refused" sh -c \
    "! '$U' mount -f -o metrics=nowhere --store '$S' '$M' 2>/dev/null"
check "nodelog_keep over 16 is refused" sh -c \
    "! '$U' mount -f -o nodelog_keep=17 --store '$S' '$M' 2>/dev/null"
check "the mount is served" mount_up -o "notify,metrics=127.0.0.1:$MPORT,nodelog_max=4096,nodelog_keep=2"
settled "mount"

# ---- the file and its format ----------------------------------------------------------------
check "metrics is listed in the root" sh -c "ls '$M' | grep -qx metrics"
check "metrics is read-only" sh -c "! echo x >'$M/metrics'"
snap m0
check "both nodes started" test "$(val m0 unisec_instance_starts_total)" -ge 2
check "their deployments were committed" test "$(val m0 'unisec_commits_total{source="deploy"}')" -ge 2
check "every family is there" sh -c "for f in unisec_start_time_seconds unisec_refusals_total \
    unisec_builds_total unisec_build_duration_seconds_count unisec_swaps_total \
    unisec_instance_restarts_total unisec_policy_pushes_total unisec_policy_ack_seconds_sum \
    unisec_policy_bases_total unisec_policy_bases_delivered_total; do \
    grep -q \"^\$f\" '$T/m0' || exit 1; done"

# ---- the access log and the console follow, and count -------------------------------------
tail -f "$W/access_log" >"$T/tail_access" 2>&1 &
tpa=$!
bgpids="$bgpids $tpa"
tail -f "$W/console" >"$T/tail_console" 2>&1 &
tpc=$!
bgpids="$bgpids $tpc"
sleep 1 # both tails have read what there was
tag=followed-$$
check "a request after the tails started" sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' '$URL/catalogue/$tag') = 200 ]"
check "tail -f access_log shows it" wait_for 10 grep -q "\"GET /catalogue/$tag\" 200" "$T/tail_access"
check "tail -f console shows it" wait_for 10 grep -q "\"GET /catalogue/$tag\" 200" "$T/tail_console"
kill $tpa $tpc 2>/dev/null
wait $tpa $tpc 2>/dev/null
check "poll(2) on access_log waits, then wakes for a request" python3 tests/orch/poll_wait.py \
    --quiet=300 "$W/access_log" '"GET /catalogue/polled-1" 200' "curl -s -o /dev/null '$URL/catalogue/polled-1'"
check "poll(2) on console wakes for a request" python3 tests/orch/poll_wait.py \
    "$W/console" '"GET /catalogue/polled-2" 200' "curl -s -o /dev/null '$URL/catalogue/polled-2'"
line=$(grep "GET /catalogue/$tag" "$W/access_log")
check "an access line: time, client, user, request, status, bytes, decision, rule: $line" \
    sh -c "echo '$line' | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z 127\.0\.0\.1:[0-9]+ - \"GET /catalogue/$tag\" 200 [1-9][0-9]* allow regular:[0-9]+\$'"
check "the console keeps the guest's own lines" \
    grep -q "acl_pep: policy version" "$W/console"
check "a node that answered nothing has an empty access log" \
    test "$(wc -c <"$M/nodes/portal/access_log")" = 0
snap a0
curl -s -o /dev/null "$URL/catalogue/one"
curl -s -o /dev/null "$URL/nothing-routes-here"
check "the two requests are counted" wait_for 10 sh -c \
    "[ \$('$PY' tests/orch/metrics.py '$M/metrics' 'unisec_node_requests_total{code=\"4xx\",node=\"web\"}' | sed 's/\.0\$//') -gt $(val a0 'unisec_node_requests_total{code="4xx",node="web"}') ]"
snap a1
moved "requests" 'unisec_node_requests_total{code="2xx",node="web"}' a0 a1 1
moved "requests" 'unisec_node_requests_total{code="4xx",node="web"}' a0 a1 1
moved "requests" 'unisec_node_decisions_total{decision="allow",node="web",policy="regular"}' a0 a1 2
moved "requests" 'unisec_node_decisions_total{decision="deny",node="web",policy="regular"}' a0 a1 0
moved "requests" 'unisec_node_response_bytes_total{node="web"}' a0 a1 +

# ---- the access log rotates: 2 files of 4 KiB at most ---------------------------------------
i=0
while [ $i -lt 80 ]; do curl -s -o /dev/null "$URL/catalogue/rotate-$i"; i=$((i + 1)); done
check "the last request is logged" wait_for 10 grep -q "rotate-79\"" "$W/access_log"
L=$S/.git/unisec-logs/web
check "the access log was rotated on disk" test -f "$L/access.1"
check "no third file is kept" test ! -e "$L/access.2"
check "the access log keeps at most 2 x 4 KiB" test "$(cat "$L/access" "$L/access.1" | wc -c)" -le 8192
check "access_log is the files on disk, oldest first" sh -c "cat '$L/access.1' '$L/access' | cmp -s - '$W/access_log'"
check "the log files are the owner's alone" test "$(stat -c %a "$L/access")" = 600
check "poll(2) across a rotation: woken, then waits (no spin) until a new line" \
    python3 tests/orch/poll_rotate.py "$W/access_log" "$URL"

# ---- the metrics listener -----------------------------------------------------------------
check "the HTTP listener answers and refuses junk" "$PY" tests/orch/http_probe.py "$MPORT" "$T/http"
check "metrics over HTTP parse" "$PY" tests/orch/metrics.py "$T/http"
check "metrics over HTTP are the file's" sh -c "grep -q '^unisec_node_requests_total{node=\"web\",code=\"2xx\"}' '$T/http'"

# ---- a level write: one commit, one swap, one more deployment; watchers are told ------------
# (inotifywait -m: every event, one a line, from before the write on)
inotifywait -m -e modify "$W/status" "$W/security_level" "$M/history" "$M/events" \
    "$M/nodes/portal/security_level" >"$T/inotify" 2>"$T/inotify.err" &
inw=$!
bgpids="$bgpids $inw"
check "inotifywait watches" wait_for 10 grep -q "Watches established" "$T/inotify.err"
touch -r "$M/nodes/portal/security_level" "$T/before"
sleep 1.1 # the times below are seconds apart from the mount's start
echo critical >"$W/security_level"
settled "critical"
check "settle.json: settled, both nodes, none failed, web critical and running" python3 -c "
import json, sys
j = json.load(open(sys.argv[1]))
web = [n for n in j['status'] if n['node'] == 'web'][0]
sys.exit(not (j['settled'] and j['nodes'] == 2 and j['failed'] == 0 and len(j['commit']) == 40
              and web['state'] == 'running' and web['level'] == 'critical'))" "$M/settle.json"
check "events.json: the level's commit, as JSON" python3 -c "
import json, sys
e = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(not any(x['level'] == 'info' and 'web: security_level default -> critical' in x['message']
                 for x in e))" "$M/events.json"
check "inotify: web's status changed during the swap" wait_for 10 grep -q "^$W/status MODIFY" "$T/inotify"
check "inotify: web's level changed" wait_for 10 grep -q "^$W/security_level MODIFY" "$T/inotify"
check "inotify: history changed" wait_for 10 grep -q "^$M/history MODIFY" "$T/inotify"
check "inotify: events grew" wait_for 10 grep -q "^$M/events MODIFY" "$T/inotify"
kill $inw 2>/dev/null
wait $inw 2>/dev/null
check "inotify: portal's level did not change" sh -c "! grep -q portal '$T/inotify'"
check "find -newer: web's level is newer than before the write" \
    sh -c "find '$M/nodes' -maxdepth 2 -name security_level -newer '$T/before' | grep -qx '$W/security_level'"
check "find -newer: portal's level is not" \
    sh -c "! find '$M/nodes' -maxdepth 2 -name security_level -newer '$T/before' | grep -q portal"
check "ls -t: history is newer than portal's level" \
    sh -c "[ \"\$(ls -t '$M/history' '$M/nodes/portal/security_level' | head -1)\" = '$M/history' ]"
check "a user cannot set a file's time" sh -c "! touch -m '$M/nodes/portal/security_level' 2>/dev/null"
snap m1
moved "level write" 'unisec_commits_total{source="mount"}' m0 m1 1
moved "level write" unisec_swaps_total m0 m1 1
moved "level write" 'unisec_commits_total{source="deploy"}' m0 m1 1
moved "level write" 'unisec_refusals_total{source="mount"}' m0 m1 0

# ---- a refused write: one refusal, no commit ------------------------------------------------
check "a bogus level is refused" sh -c "! /bin/echo bogus >'$W/security_level'"
snap m2
moved "refused write" 'unisec_refusals_total{source="mount"}' m1 m2 1
moved "refused write" 'unisec_commits_total{source="mount"}' m1 m2 0
moved "refused write" unisec_swaps_total m1 m2 0
check "poll(2) on events and events.json wakes for a refused write" sh -c "python3 tests/orch/poll_wait.py \
    '$M/events' 'bogus-poll' '! /bin/echo bogus-poll >$W/security_level 2>/dev/null' &&
    python3 tests/orch/poll_wait.py '$M/events.json' 'bogus-poll2' '! /bin/echo bogus-poll2 >$W/security_level 2>/dev/null'"
check "poll(2) on errors wakes for it" python3 tests/orch/poll_wait.py \
    "$M/errors" 'bogus-poll3' "! /bin/echo bogus-poll3 >$W/security_level 2>/dev/null"

# ---- back to the push level, then an ACL line: a push and its acknowledgement ---------------
echo default >"$W/security_level"
settled "default"
snap m3
echo "regular * GET /catalogue/* deny" >>"$M/policy/acl"
settled "ACL line"
snap m4
moved "ACL line" unisec_policy_pushes_total m3 m4 1
moved "ACL line" unisec_policy_ack_seconds_count m3 m4 1
moved "ACL line" unisec_policy_push_failures_total m3 m4 0
moved "ACL line" unisec_swaps_total m3 m4 0
moved "ACL line" 'unisec_node_policy_pushes_total{node="web"}' m3 m4 1
moved "ACL line" 'unisec_node_policy_ack_seconds_count{node="web"}' m3 m4 1
check "a denied request" sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' '$URL/catalogue/x') = 401 ]"
check "its access line names the rule" wait_for 10 sh -c \
    "grep '\"GET /catalogue/x\" 401' '$W/access_log' | grep -Eq ' deny regular:[0-9]+\$'"
snap m4b
moved "denied" 'unisec_node_decisions_total{decision="deny",node="web",policy="regular"}' m4 m4b 1

# ---- a property never built before: one compilation, timed ----------------------------------
echo "GET /* 200 text/plain observed $$ $(date +%s%N)" >"$W/properties/routes"
settled "routes"
snap m5
moved "new routes" 'unisec_builds_total{kind="change",result="ok"}' m4 m5 1
moved "new routes" unisec_build_duration_seconds_count m4 m5 1
moved "new routes" unisec_swaps_total m4 m5 1
check "the build took some time" python3 -c "import sys; sys.exit(not float(sys.argv[1]) > float(sys.argv[2]))" \
    "$("$PY" tests/orch/metrics.py "$T/m5" unisec_build_duration_seconds_sum)" \
    "$("$PY" tests/orch/metrics.py "$T/m4" unisec_build_duration_seconds_sum)"
moved "no instance restarted" unisec_instance_restarts_total m0 m5 0

# ---- a crash: the supervisor restarts the instance ------------------------------------------
pid=$(sed -n 's/.* pid \([0-9]*\).*/\1/p' "$W/status")
if [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; then
    check "the crashed instance is restarted" wait_for 30 sh -c \
        "[ \$('$PY' tests/orch/metrics.py '$M/metrics' unisec_instance_restarts_total | sed 's/\.0\$//') -ge 1 ]"
    check "web's restart is counted as web's" wait_for 30 sh -c \
        "[ \$('$PY' tests/orch/metrics.py '$M/metrics' 'unisec_node_restarts_total{node=\"web\"}' | sed 's/\.0\$//') -ge 1 ]"
    check "the console tells of the instance that ended" wait_for 10 grep -q "(pid $pid) ended" "$W/console"
else
    bad "web's tender pid not found in its status: $(cat "$W/status")"
fi

check "unmount (a touch in flight makes it EBUSY for a moment)" wait_for 10 fusermount3 -u "$M"
check "the daemon ends" wait_for 20 sh -c "! kill -0 $fgpid"
check "its touching process ends with it" sh -c "! pgrep -f '^unisec-touch $M\$'"
fgpid=
if [ "$fail" != 0 ]; then echo "--- the daemon's log"; tail -n 60 "$T/daemon.log"; fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
