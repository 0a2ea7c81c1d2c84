#!/bin/sh
# tests/orch/tls_lb.sh — a load balancer that speaks TLS to its backend, through a real mount
# (engine/TOPOLOGY.md section 1.4): the shop serves HTTPS only; the portal terminates TLS and
# relays to it over TLS, the shop's key pinned from tls/shop/cert in the store. Without the
# shop's certificate the portal's image is refused at build, naming it; with both pairs
# written, the authenticated, denied and anonymous requests through the portal get the shop's
# answers, and its access log shows them; a level change of the shop (HTTPS at both levels)
# swaps the shop alone under load through the portal without a failed request; a rotation of
# the shop's key under load through the portal swaps the portal first (pinning the new key
# beside the old one), then the shop, without a failed request. Runs on spt, and on hvt where
# /dev/kvm can be opened. Skips (77) without /dev/fuse, curl, openssl, ab or git.
set -u
cd "$UNISEC_SRCDIR" || exit 1
. tests/lib.sh
. tests/orch/tls_lib.sh
need fusermount3 curl openssl ab git python3
tls_begin shop portal shop2

A="-u alice:alice-demo-password"; B="-u bob:bob-demo-password"
# lb PATH CURL-ARGS...: the status of a request through the portal (000: no answer).
lb() { p=$1; shift; curl -s -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$K/ca.crt" "$@" "https://localhost:$L$p"; }

for target in ${TLS_TARGETS:-spt hvt}; do
    if [ $target = hvt ] && { ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; }; then
        echo "SKIP hvt: /dev/kvm cannot be opened"; continue
    fi
    S=$T/store.$target M=$T/mnt.$target N=$T/mnt.$target/nodes
    mkdir -p "$M"
    P=$(freeport) L=$(freeport)
    while [ "$L" = "$P" ]; do L=$(freeport); done
    sed -e "s/http_port: 8445/http_port: $P/" -e "s/listen_port: 8444/listen_port: $L/" \
        tests/orch/tls_lb.yaml >"$T/topo.yaml"
    check "$target: init" "$U" init "$S" --from "$T/topo.yaml" --policy-dir mount-examples/policy
    check "$target: the mount is served" mount_up --target $target

    # ---- the portal first: its image pins the shop's key, which is not there yet -------------
    check "$target: portal's cert written" sh -c "cat '$K/portal.crt' '$K/ca.crt' >'$N/portal/tls/cert'"
    check "$target: portal's key written" sh -c "cat '$K/portal.key' >'$N/portal/tls/key'"
    check "$target: the portal's build names the shop's certificate" wait_for 30 grep -q \
        "portal: build of level default failed.*backend shop serves HTTPS and no key is pinned" \
        "$M/events"

    # ---- the shop's pair: the portal is built and relays over TLS --------------------------
    check "$target: shop's cert written" sh -c "cat '$K/shop.crt' '$K/ca.crt' >'$N/shop/tls/cert'"
    check "$target: shop's key written" sh -c "cat '$K/shop.key' >'$N/shop/tls/key'"
    check "$target: settled" wait_for 60 tls_settled
    check "$target: the portal is up" wait_for 15 sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert '$K/ca.crt' https://localhost:$L/catalogue/x)\" = 401 ]"
    expect "$target: through the portal, bob" "$(lb /catalogue/x $B)" 200
    expect "$target: through the portal, bob denied /admin" "$(lb /admin/users $B)" 403
    expect "$target: through the portal, alice /admin" "$(lb /admin/users $A)" 200
    expect "$target: through the portal, anonymous" "$(lb /catalogue/x)" 401
    check "$target: the portal says it reaches the shop over TLS" \
        grep -q "lb_proxy: 1 backends (1 over TLS)" "$N/portal/console"
    check "$target: the shop's access log has bob's request" wait_for 10 \
        grep -q 'bob "GET /catalogue/x" 200' "$N/shop/access_log"
    expect "$target: the shop answers no plain HTTP" \
        "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$P/catalogue/x")" 000

    # ---- the shop's level changes (HTTPS at both): the portal is not swapped ---------------
    portal_image=$(readlink "$N/portal/image")
    load_start $target "https://localhost:$L/catalogue/x"
    sleep 2
    echo critical >"$N/shop/security_level"
    check "$target: settled at critical" wait_for 60 tls_settled
    load_check $target "$target: the shop's level change through the portal"
    expect "$target: the portal's image did not change" "$(readlink "$N/portal/image")" \
        "$portal_image"

    # ---- the shop's rotation (a new key) under load through the portal: the portal is swapped
    # first, pinning the new key beside the old one, then the shop --------------------------
    load_start rot$target "https://localhost:$L/catalogue/x"
    sleep 2
    check "$target: the shop's key and chain rotated" \
        sh -c "cat '$K/shop2.key' '$K/shop2.crt' '$K/ca.crt' >'$N/shop/tls/key'"
    check "$target: settled after the rotation" wait_for 60 tls_settled
    load_check rot$target "$target: the shop's rotation through the portal"
    check "$target: the portal pins the new key before the shop serves it" sh -c \
        "grep -a -e 'portal: deployed' -e 'shop: deployed' '$M/events' | tail -n 2 | head -n 1 | grep -q portal"
    refuse "$target: no handshake to the shop failed" grep -q "TLS failed" "$N/portal/console"
    check "$target: unisec check of the store's topology" "$U" check "$S/topology.yaml"
    fusermount3 -u "$M"; wait "$fgpid"; fgpid=
done
echo "tls_lb: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
