#!/bin/sh
# tests/orch/hosts.sh — one topology over two hosts (engine/TOPOLOGY.md section 1.10): two
# daemons, each mounted with -o host=NAME, run only the nodes placed on their host, each
# instance on its host's address (127.0.0.2 and 127.0.0.3, loopback only); both mounts show
# every node, and a node's status says which host runs it and what that host last deployed
# (read from the host's ref of records, refs/unisec/deployed/HOST, once it is in the store).
# The load balancer on host A reaches its upstream on host B at B's address. Skips (77)
# without /dev/fuse, curl or git.
set -u
cd "$UNISEC_SRCDIR" || exit 1
. tests/lib.sh
need fusermount3 curl git python3

. tests/orch/hosts_lib.sh
hosts_begin "ma mb" "pida pidb"

# status MOUNT NODE PATTERN WHAT
status() {
    s=$(head -n 1 "$1/nodes/$2/status")
    case $s in $3) ok ;; *) bad "$4: $2's status in $(basename "$1"): $s" ;; esac
}
settled() {
    out=$(cat "$1/settle")
    case $out in *"nodes run what is desired"*) ok ;; *) bad "$2: settle says: $out" ;; esac
}

# A port free on both addresses (web and api both use it, each on its own host), and one for
# the load balancer.
hosts_ports 2
set -- $PORTS
P=$1 PL=$2
cat >"$T/topo.yaml" <<YAML
tosca_definitions_version: tosca_simple_yaml_1_3
unikernel_modules:
  web_type: {http_server: , log: , dispatch: }
topology_template:
  node_templates:
$(hosts_nodes)
    web:
      type: web_type
      properties: {http_port: $P, routes: "GET /* 200 text/plain web on b"}
      requirements: [{host: host_b}]
    api:
      type: web_type
      properties: {http_port: $P, routes: "GET /* 200 text/plain api on a"}
      requirements: [{host: {node: host_a, relationship: tosca.relationships.HostedOn}}]
    portal:
      type: tosca.nodes.LoadBalancer
      properties: {listen_port: $PL}
      requirements: [{host: host_a}, {application: web}]
YAML

check "check accepts the placed topology" "$U" check "$T/topo.yaml"
check "init store a" "$U" init "$T/a" --from "$T/topo.yaml"
check "init store b" "$U" init "$T/b" --from "$T/topo.yaml"

# ---- host A alone: its nodes run on 127.0.0.2, B's node is shown but not run -------------------
hosts_mount pida a ma host=host_a
settled "$T/ma" "host a"
status "$T/ma" api "running image*on host host_a (127.0.0.2)" "a runs api"
status "$T/ma" portal "running image*on host host_a (127.0.0.2)" "a runs portal"
status "$T/ma" web "not on this host: runs on host host_b (127.0.0.3)" "a does not run web"
check "a's web status.json says elsewhere, on host_b" python3 -c "import json,sys; d=json.load(open('$T/ma/nodes/web/status.json')); sys.exit(d['state'] != 'elsewhere' or d['host'] != {'name': 'host_b', 'address': '127.0.0.3'})"
check "a's api status.json names host_a" python3 -c "import json,sys; d=json.load(open('$T/ma/nodes/api/status.json')); sys.exit(d['state'] != 'running' or d['host']['address'] != '127.0.0.2')"
check "a records on its own ref, not on main" sh -c "git -C '$T/a' log --format=%s refs/unisec/deployed/host_a | grep -q '^deploy: api' && ! git -C '$T/a' log --format=%s main | grep -q '^deploy:'"
check "api's status says what host_a last deployed" grep -q "^last deployed by host host_a: image=[0-9a-f]* level=default" "$T/ma/nodes/api/status"
check "web's status: host_b's records are not in store a yet" grep -q "^host host_b has recorded no deployment of web" "$T/ma/nodes/web/status"
check "every node is in a's mount" test -d "$T/ma/nodes/web" -a -d "$T/ma/nodes/host_b"
case $(body 127.0.0.2 $P /x) in *"api on a"*) ok ;; *) bad "api does not answer on 127.0.0.2:$P" ;; esac
check "nothing listens on 127.0.0.3:$P (web is host b's)" sh -c "! curl -s --max-time 5 http://127.0.0.3:$P/x"
check "api does not listen on 127.0.0.1" sh -c "! curl -s --max-time 5 http://127.0.0.1:$P/x"
check "a's log names no start of web" sh -c "! grep -q 'web: starting' '$T/ma/events'"

# ---- host B: web runs on 127.0.0.3; the portal on A reaches it there --------------------------
hosts_mount pidb b mb host=host_b
settled "$T/mb" "host b"
status "$T/mb" web "running image*on host host_b (127.0.0.3)" "b runs web"
status "$T/mb" api "not on this host: runs on host host_a (127.0.0.2)" "b does not run api"
status "$T/mb" portal "not on this host: runs on host host_a (127.0.0.2)" "b does not run portal"
case $(body 127.0.0.3 $P /x) in *"web on b"*) ok ;; *) bad "web does not answer on 127.0.0.3:$P" ;; esac
case $(body 127.0.0.2 $P /x) in *"api on a"*) ok ;; *) bad "api no longer answers on 127.0.0.2:$P" ;; esac
check "the portal on a relays to web on b" wait_for 10 sh -c "curl -s --max-time 5 http://127.0.0.2:$PL/x | grep -q 'web on b'"
# b's records brought into store a with git's own transport: a's mount tells what b deployed.
check "fetch host_b's records into store a" git -C "$T/a" fetch -q "$T/b" "refs/unisec/deployed/*:refs/unisec/deployed/*"
check "a's web status says what host_b last deployed" grep -q "^last deployed by host host_b: image=[0-9a-f]* level=default" "$T/ma/nodes/web/status"
check "unisec status lists both hosts' last records" sh -c "'$U' status --store '$T/a' --json | python3 -c \"import json,sys; j=json.load(sys.stdin); sys.exit([h['host'] for h in j['hosts']] != ['host_a', 'host_b'] or not any(l.startswith('web ') for l in j['deployed']))\""
check "and its status.json" python3 -c "import json,sys; d=json.load(open('$T/ma/nodes/web/status.json'))['deployed']; sys.exit(d['host'] != 'host_b' or 'image=' not in d['line'] or len(d['record']) != 40)"

# ---- B stops: A keeps serving its own nodes --------------------------------------------------
fusermount3 -u "$T/mb"; wait "$pidb"; pidb=
check "web is gone with b" sh -c "! curl -s --max-time 5 http://127.0.0.3:$P/x"
case $(body 127.0.0.2 $P /x) in *"api on a"*) ok ;; *) bad "api stopped serving when b left" ;; esac

fusermount3 -u "$T/ma"; wait "$pida"; pida=

hosts_end a b
