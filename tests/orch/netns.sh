#!/bin/sh
# tests/orch/netns.sh — the issue's shape of a cloud: three hosts and a repository, each in a
# network namespace of its own made here (10.77.0.1 the repository, .2 .3 .4 hosts a b c),
# linked by veth pairs to a bridge in a fifth namespace; the bare repository served over git's
# smart protocol (git daemon) from its namespace, its post-receive hook telling the daemons
# (SIGUSR1); three daemons (-o host=NAME,remote=git://...), each started in its host's
# namespace. A write on host A changes what curl from host B's namespace gets from the node on
# host C; two hosts writing two nodes' levels at once both land; of two topology writes, the
# one made on an old main is refused with the reason; the repository unreachable: writes
# refused, reads and instances go on; a killed host comes back and converges. Each host pushes
# its deployment records to its own ref of the repository, and host B's status of a node on
# host C says what C last deployed, also after C was killed and came back. Skips (77) when
# namespaces cannot be made (not root, no ip netns), without /dev/fuse, curl or git.
set -u
cd "$UNISEC_SRCDIR" || exit 1
. tests/lib.sh
need fusermount3 curl git ip nsenter python3
N=us$$
ip netns add "${N}sw" 2>/dev/null || { echo "SKIP: cannot make a network namespace (ip netns add needs root)"; exit 77; }

U=$UNISEC
T=$(mktemp -d)
export UNISEC_CACHE_DIR=${UNISEC_TEST_CACHE:-$T/cache}
pass=0; fail=0; pid_a=; pid_b=; pid_c=; pidd=
P=8080

cleanup() {
    for h in a b c; do fusermount3 -u -z "$T/m$h" 2>/dev/null; done
    for p in $pid_a $pid_b $pid_c $pidd; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    # What is left in the test's namespaces is the test's: git daemon's process per connection
    # outlives it, and one whose peer went with the link the test took down waits for it
    # forever (SIGTERM ignored).
    for x in r a b c sw; do
        ip netns pids "$N$x" 2>/dev/null | xargs -r kill -9 2>/dev/null
        ip netns del "$N$x" 2>/dev/null
    done
    rm -rf "$T"
}
trap cleanup EXIT

in_ns() { ns=$1; shift; nsenter --net="/run/netns/$N$ns" "$@"; }
# code NS ADDR PATH: the HTTP status a curl from namespace NS gets
code() { in_ns "$1" curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$2:$P$3"; }
write() { python3 -c 'import sys
try:
    with open(sys.argv[1], "w") as f: f.write(sys.argv[2])
except OSError as e:
    print(e.strerror, file=sys.stderr); sys.exit(1)' "$1" "$2" 2>"$T/w.err"; }

# ---- the network: a bridge in ${N}sw, one veth pair per namespace --------------------------
in_ns sw ip link add br0 type bridge && in_ns sw ip link set br0 up || { echo "SKIP: no bridge in a namespace"; exit 77; }
i=1
for x in r a b c; do
    ip netns add "$N$x" || exit 1
    ip link add "v$x$$" netns "$N$x" type veth peer name "s$x$$" netns "${N}sw" || {
        echo "SKIP: cannot make veth pairs"; exit 77; }
    in_ns sw ip link set "s$x$$" master br0 up
    in_ns "$x" ip addr add "10.77.0.$i/24" dev "v$x$$"
    in_ns "$x" ip link set "v$x$$" up
    in_ns "$x" ip link set lo up
    i=$((i + 1))
done

# ---- the repository: served by git daemon, its hook tells the daemons listed in notify ------
git init -q --bare -b main "$T/srv/remote.git"
cat >"$T/srv/remote.git/hooks/post-receive" <<HOOK
#!/bin/sh
# Tells every daemon listed in $T/notify to fetch now (they run on this machine in the test;
# across machines: ssh HOST systemctl kill -s USR1 unisec@NAME).
for p in \$(cat "$T/notify" 2>/dev/null); do kill -USR1 "\$p" 2>/dev/null; done
exit 0
HOOK
chmod +x "$T/srv/remote.git/hooks/post-receive"
git_daemon --via "nsenter --net=/run/netns/${N}r" --listen=10.77.0.1 --base-path="$T/srv" --export-all \
    --enable=receive-pack "$T/srv"
G=git://10.77.0.1/remote.git
check "git daemon answers in the repository's namespace" wait_for 10 in_ns a git ls-remote "$G"

cat >"$T/topo.yaml" <<YAML
tosca_definitions_version: tosca_simple_yaml_1_3
unikernel_modules:
  web_type: {http_server: , log: , dispatch: }
security_functions:
  push_access: {mechanism: access_control, pdp: push, policy: regular}
  slow: {mechanism: rate_limit, requests_per_second: 50, burst: 50}
topology_template:
  node_templates:
YAML
i=2
for h in a b c; do
    cat >>"$T/topo.yaml" <<YAML
    host_$h:
      type: tosca.nodes.Compute
      attributes: {private_address: 10.77.0.$i}
    web_$h:
      type: web_type
      properties:
        http_port: $P
        routes: "GET /* 200 text/plain web on $h"
        access_level:
          multi_level_security:
            default_security_level: push_access
            critical_security_level: [push_access, slow]
      requirements: [{host: host_$h}]
YAML
    i=$((i + 1))
done
mkdir -p "$T/policy"
echo "regular * GET /* allow" >"$T/policy/acl"
check "check accepts the topology" "$U" check "$T/topo.yaml"

# start H [OPTIONS]: host H's daemon in its namespace
start() {
    h=$1; shift
    mkdir -p "$T/m$h"
    # nsenter execs the daemon: $pid_H is the daemon's pid, which the hook signals
    mount_up --at "$T/$h" "$T/m$h" --pid "pid_$h" --log-to "$T/$h.log" \
        --via "nsenter --net=/run/netns/$N$h" -o "host=host_$h,remote=$G$*"
}
notify() { : >"$T/notify"; for p in "$@"; do echo "$p" >>"$T/notify"; done; }
for h in a b c; do
    check "init store $h" "$U" init "$T/$h" --from "$T/topo.yaml" --policy-dir "$T/policy"
done
check "host a's daemon is served (it seeds the repository)" start a
check "host b's daemon is served" start b
check "host c's daemon is served" start c
notify $pid_a $pid_b $pid_c
for h in a b c; do
    check "host $h settles" grep -q "nodes run what is desired" "$T/m$h/settle"
done
check "b's namespace reaches c's node" test "$(code b 10.77.0.4 /probe/x)" = 200

# ---- deployment records: each host's on its own ref of the repository, in every status -----
rref() { git --git-dir="$T/srv/remote.git" rev-parse -q --verify "refs/unisec/deployed/$1"; }
# shows MOUNT NODE HOST: MOUNT's status of NODE names the repository's last record of HOST
shows() {
    r=$(rref "$3") && grep -q "last deployed by host $3: .*(record $(printf %.12s "$r")" "$1/nodes/$2/status"
}
for h in a b c; do
    check "the repository holds host $h's records" wait_for 20 rref host_$h
    check "its log is host $h's deployment history" sh -c \
        "git --git-dir='$T/srv/remote.git' log --format=%s refs/unisec/deployed/host_$h | grep -q '^deploy: web_$h'"
done
check "b's status of web_c says what host c last deployed" wait_for 20 shows "$T/mb" web_c host_c
check "a's status of web_c too" wait_for 20 shows "$T/ma" web_c host_c
check "c's node is not on loopback" sh -c "! curl -s --max-time 3 http://127.0.0.1:$P/"

# ---- a write on A changes what B's namespace gets from C's node ---------------------------
check "a: a rule denying /probe/" write "$T/ma/policy/acl" "regular * GET /* allow
regular * GET /probe/* deny
"
check "b's namespace gets 401 from c's node" wait_for 20 sh -c "test \"\$(nsenter --net=/run/netns/${N}b curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://10.77.0.4:$P/probe/x)\" = 401"
check "and 200 elsewhere" test "$(code b 10.77.0.4 /x)" = 200

# ---- two hosts writing two nodes' levels at once ------------------------------------------
write "$T/ma/nodes/web_a/security_level" "critical
" & w1=$!
write "$T/mb/nodes/web_b/security_level" "critical
" & w2=$!
check "a's level write at the same time succeeds" wait "$w1"
check "b's level write at the same time succeeds" wait "$w2"
for h in a b c; do
    check "$h shows both" wait_for 10 sh -c "grep -q critical '$T/m$h/nodes/web_a/security_level' && grep -q critical '$T/m$h/nodes/web_b/security_level'"
done

# ---- two topology writes: the one made on an old main is refused -------------------------
notify $pid_a $pid_b # c is not told: its next write is made on an old main
sed 's/web on a/web on a, v2/' "$T/topo.yaml" >"$T/t2.yaml"
sed 's/web on c/web on c, by c/' "$T/topo.yaml" >"$T/t3.yaml"
check "a: topology v2" cp "$T/t2.yaml" "$T/ma/topology.yaml"
check "c: its own topology, on an old main, is refused" sh -c "! cp '$T/t3.yaml' '$T/mc/topology.yaml'"
check "c's errors say why" grep -q "refused topology.yaml (EAGAIN).*changed on the remote" "$T/mc/errors"
check "c serves a's" grep -q "web on a, v2" "$T/mc/topology.yaml"
notify $pid_a $pid_b $pid_c
check "a's new routes answer on a, from c's namespace" wait_for 60 sh -c "nsenter --net=/run/netns/${N}c curl -s --max-time 5 http://10.77.0.2:$P/x | grep -q 'v2'"

# ---- the repository unreachable: writes refused, reads and instances go on ----------------
in_ns r ip link set "vr$$" down
before=$(git -C "$T/a" rev-parse main)
if write "$T/ma/nodes/web_a/security_level" "default
"; then bad "a write with the repository unreachable succeeds"; else ok; fi
check "a's errors say the remote cannot be reached" grep -q "EHOSTUNREACH" "$T/ma/errors"
check "a still reads its level" grep -q critical "$T/ma/nodes/web_a/security_level"
check "a's store is not ahead of the repository" test "$(git -C "$T/a" rev-parse main)" = "$before"
check "a's node still answers b's namespace" test "$(code b 10.77.0.2 /x)" = 200
in_ns r ip link set "vr$$" up
check "a: the write works again" wait_for 30 write "$T/ma/nodes/web_a/security_level" "default
"

# ---- a killed host comes back and converges ------------------------------------------------
rc_before=$(rref host_c)
kill -9 "$pid_c"; wait "$pid_c" 2>/dev/null; pid_c=
fusermount3 -u -z "$T/mc"
check "b: web_b default while c is down" write "$T/mb/nodes/web_b/security_level" "default
"
check "a's node still answers with c gone" test "$(code b 10.77.0.2 /x)" = 200
check "host c's daemon is served again" start c
notify $pid_a $pid_b $pid_c
check "c converged to the current main" grep -q default "$T/mc/nodes/web_b/security_level"
check "c settles" grep -q "nodes run what is desired" "$T/mc/settle"
check "c's deployment after coming back is on the repository" wait_for 20 sh -c \
    "test \"\$(git --git-dir='$T/srv/remote.git' rev-parse refs/unisec/deployed/host_c)\" != $rc_before"
check "its records grew (the one before is in its history)" \
    git --git-dir="$T/srv/remote.git" merge-base --is-ancestor "$rc_before" refs/unisec/deployed/host_c
check "b's status of web_c says what c deployed after coming back" wait_for 20 shows "$T/mb" web_c host_c
check "c's node answers b's namespace again, under the current policy" \
    wait_for 30 sh -c "test \"\$(nsenter --net=/run/netns/${N}b curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://10.77.0.4:$P/probe/x)\" = 401"

for h in a b c; do fusermount3 -u "$T/m$h"; done
wait $pid_a $pid_b $pid_c 2>/dev/null; pid_a= pid_b= pid_c=

echo "$pass passed, $fail failed"
if [ $fail -gt 0 ]; then
    for h in a b c; do echo "--- $h's log"; tail -n 25 "$T/$h.log"; done
fi
[ $fail -eq 0 ]
