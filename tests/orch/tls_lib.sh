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
