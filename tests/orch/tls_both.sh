#!/bin/sh
# tests/orch/tls_both.sh — one node serving plain HTTP and HTTPS at once, through a real mount
# (engine/TOPOLOGY.md "security_functions"): at default (a tls function with plain_http) curl
# gets the same answers over HTTP on http_port and over HTTPS on https_port (--cacert): the
# authenticated, the denied and the anonymous request; `echo critical > security_level` (tls
# without plain_http) swaps the instance under an HTTPS client loop and ab without a failed
# request, then HTTP is refused while HTTPS answers; back at default HTTP answers again; at
# plain (no tls function) HTTPS is refused and HTTP answers. Runs on spt, and on hvt where
# /dev/kvm can be opened. Skips (77) without /dev/fuse, curl, openssl, ab or git.
set -u
cd "$UNISEC_SRCDIR" || exit 1
. tests/lib.sh
. tests/orch/tls_lib.sh
need fusermount3 curl openssl ab git python3
tls_begin web

B="-u bob:bob-demo-password"
# http PATH CURL-ARGS... / https PATH CURL-ARGS...: the status of a request to web (000: no
# answer, the connection refused or closed).
http() { p=$1; shift; curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@" "http://127.0.0.1:$P$p"; }
https() { p=$1; shift; curl -s -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$K/ca.crt" "$@" "https://localhost:$Q$p"; }
# refused PORT: a TCP connection to PORT is refused (nothing listens there any more).
refused() {
    python3 - "$1" <<'PY'
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2).close()
except ConnectionRefusedError:
    sys.exit(0)
sys.exit(1)
PY
}

for target in ${TLS_TARGETS:-spt hvt}; do
    if [ $target = hvt ] && { ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; }; then
        echo "SKIP hvt: /dev/kvm cannot be opened"; continue
    fi
    S=$T/store.$target M=$T/mnt.$target W=$T/mnt.$target/nodes/web
    mkdir -p "$M"
    P=$(freeport) Q=$(freeport)
    while [ "$Q" = "$P" ]; do Q=$(freeport); done
    sed -e "s/http_port: 8080/http_port: $P/" -e "s/https_port: 8443/https_port: $Q/" \
        tests/orch/tls_both.yaml >"$T/topo.yaml"
    check "$target: init" "$U" init "$S" --from "$T/topo.yaml" --policy-dir mount-examples/policy
    check "$target: the mount is served" mount_up --target $target
    check "$target: cert written" sh -c "cat '$K/web.crt' '$K/ca.crt' >'$W/tls/cert'"
    check "$target: key written" sh -c "cat '$K/web.key' >'$W/tls/key'"
    check "$target: settled at default" tls_settled
    check "$target: events name both ports" grep -q \
        "web: starting image .* (default) on 127.0.0.1:$Q (https), 127.0.0.1:$P (http)" "$M/events"

    # ---- default: the same answers over HTTP and over HTTPS ---------------------------------
    expect "$target: default, http, bob" "$(http /catalogue/x $B)" 200
    expect "$target: default, https, bob" "$(https /catalogue/x $B)" 200
    expect "$target: default, http, bob denied /admin" "$(http /admin/users $B)" 403
    expect "$target: default, https, bob denied /admin" "$(https /admin/users $B)" 403
    expect "$target: default, http, anonymous" "$(http /catalogue/x)" 401
    expect "$target: default, https, anonymous" "$(https /catalogue/x)" 401
    expect "$target: default, TLS on the HTTP port fails" \
        "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$K/ca.crt" "https://localhost:$P/catalogue/x")" 000
    expect "$target: default, plain HTTP on the HTTPS port gets no answer" \
        "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$Q/catalogue/x")" 000

    # ---- critical: HTTPS only, swapped under HTTPS load without a failed request ----------
    load_start $target "https://127.0.0.1:$Q/catalogue/x"
    sleep 2
    echo critical >"$W/security_level"
    check "$target: settled at critical" tls_settled
    load_check $target "$target: default to critical"
    check "$target: critical, the HTTP port is closed" wait_for 15 refused "$P"
    expect "$target: critical, http" "$(http /catalogue/x $B)" 000
    expect "$target: critical, https, bob" "$(https /catalogue/x $B)" 200
    expect "$target: critical, https, bob denied /admin" "$(https /admin/users $B)" 403
    check "$target: the swap is in the events" grep -q "web: starting image.*to swap in" "$M/events"

    # ---- default again: HTTP is back; plain: HTTPS is gone ----------------------------------
    echo default >"$W/security_level"
    check "$target: settled at default again" tls_settled
    expect "$target: default again, http" "$(http /catalogue/x $B)" 200
    expect "$target: default again, https" "$(https /catalogue/x $B)" 200
    echo plain >"$W/security_level"
    check "$target: settled at plain" tls_settled
    check "$target: plain, the HTTPS port is closed" wait_for 15 refused "$Q"
    expect "$target: plain, http" "$(http /catalogue/x $B)" 200
    check "$target: unisec check of the store's topology" "$U" check "$S/topology.yaml"
    fusermount3 -u "$M"; wait "$fgpid"; fgpid=
done
echo "tls_both: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
