# tests/orch/verify_lib.sh — what the tests of `unisec verify` share (verify.sh, verify_acld.sh;
# sourced after tests/lib.sh and one_mount).
# verify_begin [KEY...]: ed25519 keys in $T for daemon, alice and each KEY; $T/allowed_signers
# naming daemon (unisec@example.org) and alice; the e2e topology on two free ports; the store $S
# made with the daemon's signing key (a check) and told the allowed signers. $SIGN signs a
# commit as alice, $GIT is git as alice, $U and the image cache are set.
verify_begin() {
    U=$UNISEC
    export UNISEC_CACHE_DIR=${UNISEC_TEST_CACHE:-$T/cache}
    SIGN="-c gpg.format=ssh -c user.signingkey=$T/alice"
    GIT="git -C $S -c user.name=alice -c user.email=alice@example.org"
    for k in daemon alice "$@"; do ssh-keygen -q -t ed25519 -N '' -C "$k" -f "$T/$k"; done
    {
        echo "unisec@example.org $(cat "$T/daemon.pub")"
        echo "alice@example.org $(cat "$T/alice.pub")"
    } >"$T/allowed_signers"
    vb_p=$(freeport) vb_l=$(freeport)
    while [ "$vb_l" = "$vb_p" ]; do vb_l=$(freeport); done
    sed -e "s/http_port: 8080/http_port: $vb_p/" -e "s/listen_port: 8000/listen_port: $vb_l/" \
        tests/builder/e2e/topology.yaml >"$T/topo.yaml"
    check "init with a signing key" "$U" init "$S" --from "$T/topo.yaml" \
        --policy-dir mount-examples/policy --signing-key "$T/daemon"
    git -C "$S" config gpg.ssh.allowedSignersFile "$T/allowed_signers"
}
# fails_naming WHAT ID REASON: unisec verify exits 1, naming ID (and REASON) on stderr.
fails_naming() {
    if "$U" verify --store "$S" >"$T/out" 2>"$T/err"; then
        bad "$1: unisec verify passed"; return
    fi
    if grep -q "$2.*$3" "$T/err"; then ok; else bad "$1: stderr: $(cat "$T/err")"; fi
}
