# tests/orch/hosts_lib.sh — what the tests of one topology over two hosts share (sourced after
# tests/lib.sh, from the source tree's root: tests/orch/hosts.sh, remote.sh): the temporary
# directory and its clean-up, free ports on the hosts' addresses (127.0.0.2 and 127.0.0.3,
# loopback only), the two hosts' node templates, a daemon per host, and the end report.

# hosts_begin "MOUNT..." "PIDVAR...": $U, $T (a new temporary directory), the image cache, the
# mount points $T/MOUNT made, the counters at 0, and an exit trap that unmounts them, ends the
# daemons whose pids the variables PIDVAR hold (set) and removes $T.
hosts_begin() {
    U=$UNISEC
    T=$(mktemp -d)
    export UNISEC_CACHE_DIR=${UNISEC_TEST_CACHE:-$T/cache}
    hosts_mounts=$1 hosts_pidvars=$2
    for m in $hosts_mounts; do mkdir -p "$T/$m"; done
    for v in $hosts_pidvars; do eval "$v="; done
    pass=0; fail=0
    trap hosts_cleanup EXIT
}
hosts_cleanup() {
    for m in $hosts_mounts; do fusermount3 -u -z "$T/$m" 2>/dev/null; done
    for v in $hosts_pidvars; do
        eval "p=\${$v:-}"
        [ -n "$p" ] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    rm -rf "$T"
}

# hosts_ports N [M]: sets $PORTS to N ports free on both hosts' addresses and M free on
# 127.0.0.1; skips the test (77) when the addresses cannot be bound.
hosts_ports() {
    PORTS=$(python3 -c 'import socket, sys
def free():
    while True:
        s = socket.socket(); s.bind(("127.0.0.2", 0)); p = s.getsockname()[1]
        try:
            t = socket.socket(); t.bind(("127.0.0.3", p)); t.close(); s.close(); return p
        except OSError:
            s.close()
ps = [free() for _ in range(int(sys.argv[1]))]
held = [socket.socket() for _ in range(int(sys.argv[2]))]
for g in held: g.bind(("127.0.0.1", 0))
print(*ps, *(g.getsockname()[1] for g in held))' "$1" "${2:-0}") ||
        { echo "SKIP: cannot bind 127.0.0.2 and 127.0.0.3"; exit 77; }
}

# hosts_nodes: the node templates of the two hosts, host_a on 127.0.0.2 and host_b on
# 127.0.0.3, indented for topology_template's node_templates.
hosts_nodes() {
    cat <<YAML
    host_a:
      type: tosca.nodes.Compute
      attributes: {private_address: 127.0.0.2}
    host_b:
      type: tosca.nodes.Compute
      attributes: {private_address: 127.0.0.3}
YAML
}

# body ADDR PORT PATH: what an instance answers there ("" when nothing does).
body() { curl -s --max-time 10 "http://$1:$2$3"; }

# hosts_mount PIDVAR STORE MOUNT OPTIONS [ARG...]: serves $T/STORE on $T/MOUNT in the
# foreground with -o OPTIONS (and the mount's ARGs), its log in $T/STORE.log, its pid in
# PIDVAR (mount_up: watched); checks that the mount is served.
hosts_mount() {
    hm_v=$1 hm_s=$2 hm_m=$3 hm_o=$4
    shift 4
    check "mount $hm_s is served" \
        mount_up --at "$T/$hm_s" "$T/$hm_m" --pid "$hm_v" --log-to "$T/$hm_s.log" "$@" -o "$hm_o"
}

# hosts_end STORE...: the counts, and on a failure the end of each STORE's log; true when
# nothing failed.
hosts_end() {
    echo "$pass passed, $fail failed"
    if [ $fail -gt 0 ]; then
        for s in "$@"; do echo "--- $s's log"; tail -n 40 "$T/$s.log"; done
    fi
    [ $fail -eq 0 ]
}
