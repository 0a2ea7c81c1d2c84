#!/bin/sh
# e2e.sh — end to end: builds the nodes of tests/builder/e2e/topology.yaml with `unisec build`
# for hvt and spt, runs them with `unisec run` and talks HTTP to them with curl. Internal,
# push and pull PDPs: allowed 200, no credentials 401, wrong credentials 401, denied 403;
# rules pushed into a running instance change its decisions without a restart, a corrupt blob
# is refused and the rules in force stay; a pull PDP's new version reaches the guest; the load
# balancer relays and its rate limit answers 429; malformed HTTP gets its 4xx and the instance
# keeps serving; a slow request gets 408 and idle connections are closed (timeouts.yaml).
# Skips (77) without curl or python3, and hvt without /dev/kvm. E2E_TARGETS narrows the
# targets (default: "hvt spt").
set -u
cd "$UNISEC_SRCDIR"
for c in curl python3; do
    command -v $c >/dev/null || { echo "SKIP: $c is not installed"; exit 77; }
done
tmp=$(mktemp -d)
pids=""
cleanup() {
    exec 4>&- 2>/dev/null
    for p in $pids; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
export UNISEC_CACHE_DIR="$tmp/cache"
topo=tests/builder/e2e/topology.yaml
pol=mount-examples/policy
. tests/builder/e2e_lib.sh

# expect CODE WHAT CURL-ARGS...
expect() {
    want=$1; what=$2; shift 2
    got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@")
    if [ "$got" = "$want" ]; then ok; else bad "$target $what: got $got, expected $want"; fi
}

# raw PORT BYTES: sends BYTES (printf escapes) on a connection, prints the status code.
raw() {
    python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
print(s.recv(64).split(b" ")[1].decode())
PY
}

# image NODE LEVEL: the image path `unisec build` printed.
image() { awk -v n="$1" -v l="$2" '$1 == n && $2 == l { print $NF }' "$tmp/built.$target"; }

# Rules: v1 is the example's `regular`; v2 lets anonymous users read only /public.
"$UNISEC" acl compile $pol --policy-name regular --policy-version 1 -o "$tmp/v1.blob" || exit 1
mkdir "$tmp/pol2"
cp $pol/* "$tmp/pol2/"
sed -i 's|^regular  *\*  *GET  */\*  *allow|regular * GET /public/* allow|' "$tmp/pol2/acl"
"$UNISEC" acl compile "$tmp/pol2" --policy-name regular --policy-version 2 -o "$tmp/v2.blob" || exit 1
cp "$tmp/v2.blob" "$tmp/bad.blob"
printf '\377' | dd of="$tmp/bad.blob" bs=1 seek=200 conv=notrunc 2>/dev/null
A="-u alice:alice-demo-password"; B="-u bob:bob-demo-password"; C="-u carol:carol-demo-password"

for target in ${E2E_TARGETS:-hvt spt}; do
    if [ $target = hvt ] && [ ! -c /dev/kvm ]; then
        echo "SKIP hvt: /dev/kvm is missing"; continue
    fi
    if ! "$UNISEC" build $topo --node web --target $target --policy-dir $pol -o "$tmp/out" >"$tmp/built.$target" ||
       ! "$UNISEC" build $topo --node portal --target $target --policy-dir $pol -o "$tmp/out" >>"$tmp/built.$target"; then
        bad "$target: unisec build failed"; continue
    fi
    ok

    # Internal PDP (critical: policy `restricted` linked into the image).
    start crit.$target "$UNISEC" run "$(image web critical)" --port 0 || continue
    u=http://127.0.0.1:$port
    expect 401 "internal: no credentials" $u/catalogue/x
    expect 401 "internal: wrong password" -u alice:nope $u/catalogue/x
    expect 401 "internal: unknown user" -u mallory:x $u/catalogue/x
    expect 401 "internal: malformed credentials" -H "Authorization: Basic !!!" $u/catalogue/x
    expect 200 "internal: staff reads" $B $u/catalogue/x
    expect 403 "internal: staff denied /admin" $B $u/admin/users
    expect 200 "internal: admin" $A $u/admin/users
    expect 403 "internal: no group" $C $u/catalogue/x
    expect 405 "internal: allowed but no route for the method" $A -X DELETE $u/catalogue/x
    expect 404 "internal: allowed but no route" $A $u/nothing

    # Push PDP (default: policy `regular` over the policy channel).
    rm -f "$tmp/ctl" "$tmp/answers"; mkfifo "$tmp/ctl"
    start push.$target python3 tests/builder/e2e/policy_fd.py "$tmp/ctl" "$tmp/answers" \
        "$UNISEC" run "$(image web default)" --port 0 --policy-fd "{fd}" || continue
    exec 4>"$tmp/ctl" # the helper sends each blob named on this FIFO
    u=http://127.0.0.1:$port
    expect 503 "push: no rules yet" $u/catalogue/x
    echo "$tmp/v1.blob" >&4
    waitfor "$tmp/answers" "ack 1" && ok || bad "$target push: v1 not acknowledged"
    expect 200 "push v1: anonymous read" $u/catalogue/x
    expect 401 "push v1: anonymous /admin" $u/admin/users
    expect 201 "push v1: staff orders" $B -X POST -d item=1 $u/orders/1
    head -c 100000 /dev/zero >"$tmp/mid" # more than head_max: the head is found again
    expect 201 "push v1: an order of 100 KB" $B --data-binary @"$tmp/mid" $u/orders/1
    expect 403 "push v1: no group orders" $C -X POST -d item=1 $u/orders/1
    expect 200 "push v1: admin" $A -X DELETE $u/admin/users
    echo "$tmp/v2.blob" >&4
    waitfor "$tmp/answers" "ack 2" && ok || bad "$target push: v2 not acknowledged"
    expect 401 "push v2: anonymous read now denied" $u/catalogue/x
    expect 200 "push v2: anonymous /public" $u/public/x
    echo "$tmp/bad.blob" >&4
    waitfor "$tmp/answers" "refuse" && ok || bad "$target push: corrupt blob not refused"
    expect 401 "push: v2 still in force after the corrupt blob" $u/catalogue/x
    expect 200 "push: v2 still in force after the corrupt blob" $u/public/x

    # Malformed HTTP: the right 4xx, and the instance keeps serving.
    expect 400 "malformed: blank in a header name" -H "Bad Name: x" $u/public/x
    expect 431 "malformed: headers too large" -H "X-Big: $(head -c 17000 /dev/zero | tr '\0' a)" $u/public/x
    expect 414 "malformed: request line too long" "$u/public/$(head -c 9000 /dev/zero | tr '\0' a)"
    expect 411 "malformed: chunked body" -H "Transfer-Encoding: chunked" -d x $u/public/x
    head -c 1100000 /dev/zero >"$tmp/big"
    expect 413 "malformed: body too large" --data-binary @"$tmp/big" $u/public/x
    [ "$(raw $port 'GET /public/x HTTP/2.0\r\nHost: h\r\n\r\n')" = 505 ] && ok || bad "$target: HTTP/2.0 not 505"
    [ "$(raw $port 'GET /public/x HTTP/1.1\nHost: h\n\n')" = 400 ] && ok || bad "$target: bare LF not 400"
    [ "$(raw $port 'GET /public/x HTTP/1.1\r\n\r\n')" = 400 ] && ok || bad "$target: no Host not 400"
    expect 200 "after malformed requests: still serving" $u/public/x

    # Timeouts (timeouts.yaml: request 1.2 s, idle 1 s): a request still incomplete is
    # answered 408 and closed; a connection that never sends and a kept-alive one after its
    # answer are closed; the server goes on serving.
    if "$UNISEC" build tests/builder/e2e/timeouts.yaml --node timed --target $target \
            -o "$tmp/out" >"$tmp/timed.$target" &&
        start timed.$target "$UNISEC" run "$(awk '{ print $NF }' "$tmp/timed.$target")" --port 0; then
        got=$(python3 - $port <<'PY'
import socket, sys
def until_end(s):  # what the server sends until it closes; None if it never does
    data = b""
    try:
        while True:
            b = s.recv(4096)
            if not b:
                return data
            data += b
    except OSError:
        return None
def conn(send):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
    s.sendall(send)
    return until_end(s)
slow = conn(b"GET /x HTTP/1.1\r\nHost: h\r\n")
silent = conn(b"")
kept = conn(b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
print(slow and slow.split(b" ")[1].decode(), silent == b"" and "closed",
      kept is not None and kept.startswith(b"HTTP/1.1 200") and "closed")
PY
)
        [ "$got" = "408 closed closed" ] && ok || bad "$target timeouts: got '$got', expected '408 closed closed'"
        expect 200 "timeouts: still serving" http://127.0.0.1:$port/x
    else
        bad "$target: the timeouts node did not build or start"
    fi

    # Load balancer with a rate limit of 5/s (burst 5), relaying to the push instance.
    start portal.$target "$UNISEC" run "$(image portal default)" --port 0 --upstream web=127.0.0.1:$port || continue
    lb=http://127.0.0.1:$port
    expect 200 "lb: relayed" $lb/public/x
    sleep 1.1 # the bucket refills
    args=""; for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do args="$args -o /dev/null $lb/public/x"; done
    codes=$(curl -s -w '%{http_code}\n' $args)
    n200=$(echo "$codes" | grep -c 200); n429=$(echo "$codes" | grep -c 429)
    if [ "$n200" -ge 5 ] && [ "$n429" -ge 1 ]; then ok; else bad "$target lb rate limit: $n200 x 200, $n429 x 429"; fi
    exec 4>&-

    # Pull PDP (pulled: the guest asks `unisec pdp`).
    mkdir -p "$tmp/pol3.$target"; cp $pol/* "$tmp/pol3.$target/"
    start pdp.$target "$UNISEC" pdp "$tmp/pol3.$target" --listen 127.0.0.1:0 || continue
    pdp_pid=${pids##* }
    start pull.$target "$UNISEC" run "$(image web pulled)" --port 0 --upstream pdp=127.0.0.1:$port || continue
    u=http://127.0.0.1:$port
    expect 200 "pull: anonymous read" $u/catalogue/x
    expect 200 "pull: anonymous read (cached)" $u/catalogue/x
    expect 401 "pull: anonymous /admin" $u/admin/users
    expect 401 "pull: wrong password" -u alice:nope $u/admin/users
    expect 200 "pull: admin" $A $u/admin/users
    expect 403 "pull: staff denied /admin" $B $u/admin/users
    cp "$tmp/pol2/acl" "$tmp/pol3.$target/acl"
    kill -HUP "$pdp_pid"
    waitfor "$tmp/pdp.$target.err" "policy version 2 acknowledged by every guest" && ok ||
        bad "$target pull: no reload acknowledged"
    expect 401 "pull: new version drops the cached allow" $u/catalogue/x
done

# Every node of the examples, every level: built, booted, answering HTTP. Upstreams and a
# pull PDP point at a closed port (so 502 / 503 are answers too); push images have no rules
# yet (503).
n=0
for target in ${E2E_TARGETS:-hvt spt}; do
    [ $target = hvt ] && [ ! -c /dev/kvm ] && continue
    for topo in mount-examples/paper.yaml mount-examples/three-tier/topology.yaml; do
        "$UNISEC" check --target $target $topo >/dev/null 2>&1 || continue # not enforceable there
        for node in $(python3 -c 'import sys, yaml; print(" ".join(yaml.safe_load(open(sys.argv[1]))["topology_template"]["node_templates"]))' $topo 2>/dev/null ||
                      sed -n 's/^    \([a-z][a-z0-9_-]*\):$/\1/p' $topo); do
            out=$("$UNISEC" build $topo --node $node --target $target -o "$tmp/ex" 2>&1) ||
                { echo "$out" | grep -q "declares no\|is not a unikernel\|no unikernel" && continue;
                  bad "$target $topo $node: build failed: $out"; continue; }
            for img in $(echo "$out" | awk '/ bytes / { print $NF }'); do
                args=$(python3 -c 'import json, sys
m = json.load(open(sys.argv[1]))
print(" ".join("--upstream %s=127.0.0.1:1" % d["name"] for d in m["devices"] if d["type"] in ("upstream", "pdp")))' "${img%/image}/manifest.json")
                # shellcheck disable=SC2086
                n=$((n + 1))
                if start ex$n "$UNISEC" run "$img" --port 0 $args; then
                    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 http://127.0.0.1:$port/)
                    case $code in 200|401|403|404|502|503) ok;; *) bad "$target $node $img: GET / gave $code";; esac
                fi
                kill ${pids##* } 2>/dev/null
            done
        done
    done
done

echo "$pass passed, $fail failed"
[ $fail = 0 ]
