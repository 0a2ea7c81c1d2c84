# tests/orch/tls_lib.sh — the TLS tests' certificates, made at run time so that nothing secret
# is in the tree (sourced after tests/lib.sh).
# tls_certs DIR NAME...: a CA (DIR/ca.crt, ca.key) and, for each NAME, a P-256 key
# (DIR/NAME.key) with its request (NAME.csr) and a certificate for localhost and 127.0.0.1
# signed by the CA (NAME.crt), all valid 30 days. Fails when openssl cannot make them.
tls_certs() {
    (
        cd "$1" || exit 1
        shift
        printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >ext.cnf &&
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=test-ca \
            -days 30 -keyout ca.key -out ca.crt || exit 1
        for n in "$@"; do
            openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
                -subj /CN=localhost -keyout $n.key -out $n.csr &&
            openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
                -extfile ext.cnf -out $n.crt || exit 1
        done
    ) >/dev/null 2>&1
}

# tls_begin NAME...: $U, $T (a new temporary directory), the image cache, the counters at 0, the
# exit trap (cleanup), and in $K a CA and a certificate for each NAME (tls_certs); the test fails
# when openssl cannot make them.
tls_begin() {
    U=$UNISEC
    T=$(mktemp -d)
    export UNISEC_CACHE_DIR=${UNISEC_TEST_CACHE:-$T/cache}
    pass=0; fail=0; fgpid=; looppid=
    trap cleanup EXIT
    K=$T/keys
    mkdir -p "$K"
    tls_certs "$K" "$@" || { echo "FAIL: openssl cannot make the test certificates"; exit 1; }
}
# expect WHAT GOT WANT: GOT is WANT.
expect() { [ "$2" = "$3" ] && ok || bad "$1: got $2, expected $3"; }
# tls_settled: settle says every node runs what is desired (a condition, for check and wait_for).
tls_settled() { cat "$M/settle" | grep -q 'nodes run what is desired'; }

# cleanup: ends the client loop, the mount $M and its daemon $fgpid, removes $T (trap EXIT).
cleanup() {
    [ -n "${looppid:-}" ] && kill "$looppid" 2>/dev/null
    [ -n "${M:-}" ] && fusermount3 -u -z "$M" 2>/dev/null
    [ -n "${fgpid:-}" ] && kill "$fgpid" 2>/dev/null && wait "$fgpid" 2>/dev/null
    rm -rf "$T"
}

# load_start NAME URL: HTTPS load on URL with bob's credentials, the CA $K/ca.crt trusted: a curl loop, one new connection after the other
# (statuses in $T/loop.NAME, $looppid), and ab -c 20 over keep-alive for 8 s ($T/ab.NAME,
# $abpid).
load_start() {
    (while :; do
        curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 --cacert "$K/ca.crt" \
            -u bob:bob-demo-password "$2" >>"$T/loop.$1"
    done) &
    looppid=$!
    ab -l -r -q -c 20 -t 8 -n 100000000 -A bob:bob-demo-password "$2" >"$T/ab.$1" 2>&1 &
    abpid=$!
}

# load_check NAME WHAT: waits for ab, stops the loop; passes when every request of both was
# answered 200 (and there were some), and says how many there were.
load_check() {
    wait $abpid
    sleep 1
    kill $looppid 2>/dev/null; wait $looppid 2>/dev/null; looppid=
    n=$(wc -l <"$T/loop.$1"); badn=$(grep -vc '^200$' "$T/loop.$1")
    if [ "$n" -gt 5 ] && [ "$badn" = 0 ]; then ok; else
        bad "$2 under the client loop: $badn of $n requests not 200"; fi
    abok=$(sed -n 's/^Complete requests: *//p' "$T/ab.$1")
    abfail=$(sed -n 's/^Failed requests: *//p' "$T/ab.$1")
    abnon=$(sed -n 's/^Non-2xx responses: *//p' "$T/ab.$1")
    if [ "${abok:-0}" -gt 0 ] && [ "${abfail:-x}" = 0 ] && [ -z "$abnon" ]; then ok; else
        bad "$2 under ab: $abok complete, ${abfail:-?} failed, ${abnon:-0} non-2xx"; fi
    echo "$2 under load: $n curl requests, ab $abok requests, 0 failed expected"
}
