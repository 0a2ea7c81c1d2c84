#!/bin/sh
# tests/orch/observe.sh — what an operator observes of a real mount running real guests: the
# `metrics` file parses with prometheus_client's text-format parser and its counters move as
# the steps happen (a start, a level write and its swap, a refused write, a policy push and
# its acknowledgement, a build a property needs). Skips (77) without /dev/fuse, curl, git,
# python3 or python3-prometheus-client.
set -u
cd "$UNISEC_SRCDIR" || exit 1
[ -c /dev/fuse ] || { echo "SKIP: /dev/fuse is missing"; exit 77; }
for c in fusermount3 curl git python3; do
    command -v $c >/dev/null || { echo "SKIP: $c is not installed"; exit 77; }
done
# The Debian package's module is for Debian's python3, which may not be the first in PATH.
PY=
for p in python3 /usr/bin/python3; do
    "$p" -c 'import prometheus_client' 2>/dev/null && { PY=$p; break; }
done
[ -n "$PY" ] || { echo "SKIP: python3-prometheus-client is not installed"; exit 77; }

U=$UNISEC
T=$(mktemp -d)
S=$T/store
M=$T/mnt
W=$M/nodes/web
export UNISEC_CACHE_DIR=${UNISEC_TEST_CACHE:-$T/cache}
mkdir -p "$M"
pass=0; fail=0; fgpid=

cleanup() {
    fusermount3 -u -z "$M" 2>/dev/null
    [ -n "$fgpid" ] && kill "$fgpid" 2>/dev/null && wait "$fgpid" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

. "$(dirname "$0")/lib.sh"
settled() {
    out=$(cat "$M/settle")
    case $out in *"nodes run what is desired"*) ok ;; *) bad "$1: settle says: $out" ;; esac
}
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
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
sed -e "s/http_port: 8080/http_port: $1/" -e "s/listen_port: 8000/listen_port: $2/" \
    tests/builder/e2e/topology.yaml >"$T/topo.yaml"

check "init" "$U" init "$S" --from "$T/topo.yaml" --policy mount-examples/policy
"$U" mount -f --store "$S" "$M" 2>"$T/daemon.log" &
fgpid=$!
check "the mount is served" wait_for 10 test -f "$M/README"
settled "mount"

# ---- the file and its format ----------------------------------------------------------------
check "metrics is listed in the root" sh -c "ls '$M' | grep -qx metrics"
check "metrics is read-only" sh -c "! echo x >'$M/metrics'"
snap m0
check "both nodes started" test "$(val m0 unisec_instance_starts_total)" -ge 2
check "their deployments were committed" test "$(val m0 'unisec_commits_total{source="deploy"}')" -ge 2
check "every family is there" sh -c "for f in unisec_start_time_seconds unisec_refusals_total \
    unisec_builds_total unisec_build_duration_seconds_count unisec_swaps_total \
    unisec_instance_restarts_total unisec_policy_pushes_total unisec_policy_ack_seconds_sum; do \
    grep -q \"^\$f\" '$T/m0' || exit 1; done"

# ---- a level write: one commit, one swap, one more deployment -------------------------------
echo critical >"$W/security_level"
settled "critical"
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
else
    bad "web's tender pid not found in its status: $(cat "$W/status")"
fi

check "unmount" fusermount3 -u "$M"
check "the daemon ends" wait_for 20 sh -c "! kill -0 $fgpid"
fgpid=
if [ "$fail" != 0 ]; then echo "--- the daemon's log"; tail -n 60 "$T/daemon.log"; fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
