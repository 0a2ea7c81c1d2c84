#!/bin/sh
# tests/orch/remote.sh — a remote as the source of truth (fs/MOUNT.md): two daemons, each a
# host of one topology (-o host=NAME on 127.0.0.2 and 127.0.0.3, loopback only), both
# following one bare repository through file://, and a third (--no-run) following it through
# git:// (git daemon on 127.0.0.1) without any notification, so that its writes are made on an
# old main on purpose. A write on A is seen in B's mount; two level writes at once on A and B
# both land; a write made on an old main that no longer validates is refused (EINVAL), one that
# would undo another's change of the same file is refused (EAGAIN); one the repository's hook
# refuses fails with EPERM and the hook's words in errors; each host pushes its deployment
# records to its own ref of the remote, and each mount's status of a node says what the node's
# host last deployed (the remote's record); with the remote gone,
# writes fail (EHOSTUNREACH), reads work, instances answer, and the store is not left ahead.
# Skips (77) without /dev/fuse, curl or git.
set -u
cd "$UNISEC_SRCDIR" || exit 1
. tests/lib.sh
need fusermount3 curl git python3

. tests/orch/hosts_lib.sh
hosts_begin "ma mb mc" "pida pidb pidc pidd"
mkdir -p "$T/srv"

level() { cat "$1/nodes/$2/security_level" 2>/dev/null; }
# write MOUNT FILE CONTENT: writes as a tool that checks close(2) does; the error's text is
# in $T/w.err
write() { python3 -c 'import sys
try:
    with open(sys.argv[1], "w") as f: f.write(sys.argv[2])
except OSError as e:
    print(e.strerror, file=sys.stderr); sys.exit(1)' "$1/$2" "$3" 2>"$T/w.err"; }

hosts_ports 1 1
set -- $PORTS
P=$1 PG=$2
# topo LEVELS_OF_WEB ROUTE_OF_API
topo() {
    cat <<YAML
tosca_definitions_version: tosca_simple_yaml_1_3
unikernel_modules:
  web_type: {http_server: , log: , dispatch: }
security_functions:
  slow: {mechanism: rate_limit, requests_per_second: 50, burst: 50}
topology_template:
  node_templates:
$(hosts_nodes)
    web:
      type: web_type
      properties:
        http_port: $P
        routes: "GET /* 200 text/plain web on b"
        ddos_level: {multi_level_security: {$1}}
      requirements: [{host: host_b}]
    api:
      type: web_type
      properties:
        http_port: $P
        routes: "GET /* 200 text/plain $2"
        ddos_level:
          multi_level_security: {default_security_level: [], critical_security_level: slow}
      requirements: [{host: host_a}]
YAML
}
TWO="default_security_level: [], critical_security_level: slow"
topo "$TWO" "api on a" >"$T/topo.yaml"

check "check accepts the topology" "$U" check "$T/topo.yaml"
check "the bare repository" git init -q --bare -b main "$T/srv/remote.git"
check "init store a" "$U" init "$T/a" --from "$T/topo.yaml"
check "init store b (its own history)" "$U" init "$T/b" --from "$T/topo.yaml"
check "init store c" "$U" init "$T/c" --from "$T/topo.yaml"
R="file://$T/srv/remote.git"

# ---- A seeds the empty remote; B takes the remote's main over its own -----------------------
hosts_mount pida a ma host=host_a,remote="$R"
check "a's main is on the remote" test "$(git -C "$T/srv/remote.git" rev-parse main)" = \
    "$(git -C "$T/a" rev-parse main)"
hosts_mount pidb b mb host=host_b,remote="$R"
check "b took the remote's main" test "$(git -C "$T/b" rev-parse main)" = \
    "$(git -C "$T/srv/remote.git" rev-parse main)"
check "a settles" grep -q "nodes run what is desired" "$T/ma/settle"
check "b settles" grep -q "nodes run what is desired" "$T/mb/settle"
case $(body 127.0.0.2 $P /x) in *"api on a"*) ok ;; *) bad "api does not answer on 127.0.0.2" ;; esac

# ---- each host's records on its own ref of the remote, in every mount's status ---------------
rref() { git --git-dir="$T/srv/remote.git" rev-parse -q --verify "refs/unisec/deployed/$1"; }
# shows MOUNT NODE HOST: MOUNT's status of NODE names the remote's last record of HOST
shows() {
    r=$(rref "$3") && grep -q "last deployed by host $3: .*(record $(printf %.12s "$r")" "$1/nodes/$2/status"
}
for h in host_a host_b; do
    check "the remote holds $h's records" wait_for 20 rref $h
done
check "b's status of api says what host a last deployed" wait_for 20 shows "$T/mb" api host_a
check "a's status of web says what host b last deployed" wait_for 20 shows "$T/ma" web host_b
check "the remote's log of host a's ref is its deployment history" sh -c \
    "git --git-dir='$T/srv/remote.git' log --format=%s refs/unisec/deployed/host_a | grep -q '^deploy: api'"
check "main holds no deployment" sh -c \
    "! git --git-dir='$T/srv/remote.git' log --format=%s main | grep -q '^deploy:'"
ra=$(rref host_a)

# ---- a write on A is seen in B's mount ----------------------------------------------------
check "a: api critical" write "$T/ma" nodes/api/security_level "critical
"
check "the write is on the remote when close returns" sh -c \
    "git -C '$T/srv/remote.git' log -1 --format=%s main | grep -q 'api: security_level default -> critical'"
check "b's mount shows it" wait_for 10 sh -c "test \"\$(cat '$T/mb/nodes/api/security_level')\" = critical"
check "b's events say it came from outside" grep -q "external commit.*api: security_level" "$T/mb/events"

# ---- two level writes at once, on two hosts, both land ------------------------------------
write "$T/ma" nodes/web/security_level "critical
" & w1=$!
write "$T/mb" nodes/api/security_level "default
" & w2=$!
check "a's write of web's level at the same time succeeds" wait "$w1"
check "b's write of api's level at the same time succeeds" wait "$w2"
check "both are on the remote" sh -c "git -C '$T/srv/remote.git' log -2 --format=%s main | grep -q 'web:' && \
    git -C '$T/srv/remote.git' log -2 --format=%s main | grep -q 'api:'"
for m in ma mb; do
    check "$m shows web critical" wait_for 10 sh -c "test \"\$(cat '$T/$m/nodes/web/security_level')\" = critical"
    check "$m shows api default" wait_for 10 sh -c "test \"\$(cat '$T/$m/nodes/api/security_level')\" = default"
done

check "a: web back to default" write "$T/ma" nodes/web/security_level "default
"

# ---- C follows the remote over git://, told nothing: its writes are made on an old main ------
git_daemon --listen=127.0.0.1 --port="$PG" --base-path="$T/srv" --export-all \
    --enable=receive-pack "$T/srv"
G="git://127.0.0.1:$PG/remote.git"
check "git daemon answers" wait_for 10 git ls-remote "$G"
hosts_mount pidc c mc remote="$G",fetch_interval=0 --no-run
check "c took the remote's main over git://" test "$(git -C "$T/c" rev-parse main)" = \
    "$(git -C "$T/srv/remote.git" rev-parse main)"

# A's topology gives web one level; C, not yet told, sets web critical: on the new main that
# no longer validates, and C refuses it.
topo "default_security_level: []" "api on a" >"$T/one.yaml"
check "a: web with one level" sh -c "cat '$T/one.yaml' > '$T/ma/topology.yaml'"
if write "$T/mc" nodes/web/security_level "critical
"; then bad "c: web critical on an old main is accepted"; else ok; fi
check "c's errors say why (EINVAL, the levels web declares)" grep -q \
    "refused nodes/web/security_level (EINVAL).*expected default" "$T/mc/errors"
check "c now serves a's topology" grep -q "web on b" "$T/mc/topology.yaml"
check "c's refused write is not on the remote" sh -c \
    "! git -C '$T/srv/remote.git' log -1 --format=%s main | grep -q 'web: security_level'"

# Two writes of topology.yaml: A's lands, C's (made before it saw A's) is refused.
topo "$TWO" "api v2 by a" >"$T/a2.yaml"
topo "$TWO" "api v2 by c" >"$T/c2.yaml"
check "a: topology v2" sh -c "cat '$T/a2.yaml' > '$T/ma/topology.yaml'"
check "c: another topology v2, on an old main, is refused" sh -c "! cp '$T/c2.yaml' '$T/mc/topology.yaml'"
check "c's errors say the file changed on the remote (EAGAIN)" grep -q \
    "refused topology.yaml (EAGAIN).*changed on the remote" "$T/mc/errors"
check "the remote holds a's" sh -c "git -C '$T/srv/remote.git' show main:topology.yaml | grep -q 'api v2 by a'"
check "c serves a's" grep -q "api v2 by a" "$T/mc/topology.yaml"
check "a's new routes answer on host a" wait_for 60 sh -c "curl -s --max-time 5 http://127.0.0.2:$P/x | grep -q 'api v2 by a'"
check "host a's redeployment is on the remote" wait_for 20 sh -c "test \"\$(git --git-dir='$T/srv/remote.git' rev-parse refs/unisec/deployed/host_a)\" != $ra"
check "b's status of api says so" wait_for 20 shows "$T/mb" api host_a

# ---- the remote's hook refuses a push: EPERM, and what it said in errors ---------------------
cat >"$T/srv/remote.git/hooks/pre-receive" <<'HOOK'
#!/bin/sh
echo "topology.yaml:3:1: error: refused by the repository's hook (test)" >&2
exit 1
HOOK
chmod +x "$T/srv/remote.git/hooks/pre-receive"
if write "$T/mc" nodes/api/security_level "critical
"; then bad "c: a write the hook refuses succeeds"; else ok; fi
case $(cat "$T/w.err") in *"not permitted"*) ok ;; *) bad "the error is EPERM: $(cat "$T/w.err")" ;; esac
check "c's errors hold what the hook said" grep -q "refused nodes/api/security_level (EPERM).*topology.yaml:3:1: error: refused by the repository's hook" "$T/mc/errors"
check "c's store is not ahead of the remote" test "$(git -C "$T/c" rev-parse main)" = \
    "$(git -C "$T/srv/remote.git" rev-parse main)"
rm "$T/srv/remote.git/hooks/pre-receive"

# ---- the remote unreachable: writes refused, reads and instances go on ----------------------
before=$(git -C "$T/a" rev-parse main)
mv "$T/srv/remote.git" "$T/srv/gone.git"
if write "$T/ma" nodes/api/security_level "critical
"; then bad "a: a write with the remote gone succeeds"; else ok; fi
case $(cat "$T/w.err") in *"No route to host"*) ok ;; *) bad "the error is EHOSTUNREACH: $(cat "$T/w.err")" ;; esac
check "a's errors say the remote cannot be reached" grep -q "EHOSTUNREACH.*cannot reach the remote" "$T/ma/errors"
check "a still reads" test "$(level "$T/ma" api)" = default
check "a's store is not ahead of the remote" test "$(git -C "$T/a" rev-parse main)" = "$before"
case $(body 127.0.0.2 $P /x) in *"api v2 by a"*) ok ;; *) bad "api stopped answering with the remote gone" ;; esac
case $(body 127.0.0.3 $P /x) in *"web on b"*) ok ;; *) bad "web stopped answering with the remote gone" ;; esac
mv "$T/srv/gone.git" "$T/srv/remote.git"
check "a: the write works again" write "$T/ma" nodes/api/security_level "critical
"
check "b sees it" wait_for 10 sh -c "test \"\$(cat '$T/mb/nodes/api/security_level')\" = critical"

for m in ma mb mc; do fusermount3 -u "$T/$m"; done
wait "$pida" "$pidb" "$pidc"; pida= pidb= pidc=

hosts_end a b c
