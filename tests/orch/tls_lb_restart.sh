#!/bin/sh
# tests/orch/tls_lb_restart.sh — a load balancer's pins on either side of a restart of the
# daemon, through a real mount on spt (engine/TOPOLOGY.md section 1.4): after a rotation of the
# shop's key the portal pins the shop's new key and its previous one; the daemon restarted, it
# pins both again, from the store's history (tls/shop/cert of main), so its image is the same
# (no rebuild) and a request through it is answered. `unisec build` of the store's topology
# pins the same keys. In the store's history, a certificate that does not check (an outside
# commit, then its revert) is no previous one, after a restart as before it: passed over with a
# line in events, never fatal.
# Skips (77) without /dev/fuse, curl, openssl or git.
set -u
cd "$UNISEC_SRCDIR" || exit 1
. tests/lib.sh
. tests/orch/tls_lib.sh
need fusermount3 curl openssl git python3

tls_begin shop portal shop2
B="-u bob:bob-demo-password"
lb() { p=$1; shift; curl -s -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$K/ca.crt" "$@" "https://localhost:$L$p"; }
# pins FILE: how many keys of the shop FILE (an image's manifest.json) pins.
pins() { grep -o 'shop=ec:[0-9]*:[0-9a-f]*' "$1" | sort -u | wc -l; }
# said: how many times the portal's instances said how many keys they pin.
said() { grep -ac 'tls_upstream: TLS 1.2 to its backends' "$N/portal/console"; }
mount_start() { check "$1: the mount is served" mount_up --target spt; }
mount_stop() { fusermount3 -u "$M"; wait "$fgpid"; fgpid=; }

S=$T/store M=$T/mnt N=$T/mnt/nodes
mkdir -p "$M"
P=$(freeport) L=$(freeport)
while [ "$L" = "$P" ]; do L=$(freeport); done
sed -e "s/http_port: 8445/http_port: $P/" -e "s/listen_port: 8444/listen_port: $L/" \
    tests/orch/tls_lb.yaml >"$T/topo.yaml"
check "init" "$U" init "$S" --from "$T/topo.yaml" --policy-dir mount-examples/policy
mount_start "first start"

# ---- both pairs, then the shop's rotation: the portal pins the old key and the new one ------
check "shop's pair written" sh -c "cat '$K/shop.key' '$K/shop.crt' '$K/ca.crt' >'$N/shop/tls/key'"
check "portal's pair written" sh -c "cat '$K/portal.key' '$K/portal.crt' '$K/ca.crt' >'$N/portal/tls/key'"
check "settled with both pairs" wait_for 90 tls_settled
expect "through the portal" "$(lb /catalogue/x $B)" 200
check "the shop's key and chain rotated" \
    sh -c "cat '$K/shop2.key' '$K/shop2.crt' '$K/ca.crt' >'$N/shop/tls/key'"
check "settled after the rotation" wait_for 90 tls_settled
image=$(readlink "$N/portal/image")
expect "the portal's image pins the shop's old key and its new one" "$(pins "$N/portal/$image/manifest.json")" 2
check "the portal says it pins both" wait_for 15 sh -c \
    "grep -a 'tls_upstream: TLS 1.2' '$N/portal/console' | tail -n 1 | grep -q '2 keys pinned'"
expect "through the portal after the rotation" "$(lb /catalogue/x $B)" 200

# ---- unisec build of the store's topology pins the same keys: the same image ----------------
out=$("$U" build "$S/topology.yaml" --node portal --target spt -o "$T/build" 2>"$T/build.err")
check "unisec build of the portal" test -n "$out"
expect "unisec build's image pins both keys" "$(pins "$T/build/$(echo "$out" | cut -d' ' -f4)/manifest.json" 2>/dev/null)" 2
expect "unisec build's image is the daemon's" "$(echo "$out" | cut -d' ' -f4)" "$(basename "$image")"

# ---- the daemon restarted: the same pins, so the same image, and the portal relays ----------
n0=$(said)
mount_stop
mount_start "restart"
check "settled after the restart" wait_for 90 tls_settled
check "the portal started anew" wait_for 30 sh -c "[ \$(grep -ac 'tls_upstream: TLS 1.2 to its backends' '$N/portal/console') -gt $n0 ]"
expect "the portal's image after the restart" "$(readlink "$N/portal/image")" "$image"
check "the portal says it pins both after the restart" sh -c \
    "grep -a 'tls_upstream: TLS 1.2' '$N/portal/console' | tail -n 1 | grep -q '2 keys pinned'"
check "the portal is up after the restart" wait_for 15 sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert '$K/ca.crt' -u bob:bob-demo-password https://localhost:$L/catalogue/x)\" = 200 ]"
refuse "no handshake to the shop failed" grep -q "TLS failed" "$N/portal/console"

# ---- a certificate that does not check in main's history (an outside commit, served with the
# shop failing, then reverted) is no previous one, in memory as after a restart: the same pins,
# the one passed over said in events, nothing fatal
printf 'not a certificate\n' >"$S/tls/shop/cert"
git -C "$S" -c user.name=Mallory -c user.email=m@example.org commit -q -am "shop: a bad certificate"
check "the outside commit of a bad certificate is applied" wait_for 30 grep -q "applied: shop: a bad certificate" "$M/events"
git -C "$S" -c user.name=Mallory -c user.email=m@example.org revert --no-edit HEAD >/dev/null
check "its revert is applied" wait_for 30 grep -q 'applied: Revert "shop: a bad certificate"' "$M/events"
check "settled after the revert" wait_for 90 tls_settled
image2=$(readlink "$N/portal/image")
expect "the portal pins the shop's key in force alone after the revert" "$(pins "$N/portal/$image2/manifest.json")" 1
mount_stop
mount_start "restart after the bad certificate"
check "settled after the second restart" wait_for 90 tls_settled
expect "the portal's image after the second restart" "$(readlink "$N/portal/image")" "$image2"
check "events say the bad certificate was passed over" grep -q \
    "shop: pins of its load balancers: tls/shop/cert (commit [0-9a-f]*): error: not pinned" "$M/events"
expect "through the portal after the second restart" "$(lb /catalogue/x $B)" 200
[ "$fail" -eq 0 ] || { echo "errors:"; cat "$M/errors"; echo "events:"; tail -n 30 "$M/events"; }
mount_stop
refuse "the daemon's log has no sanitizer report" grep -q Sanitizer "$T/daemon.log"
echo "tls_lb_restart: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
