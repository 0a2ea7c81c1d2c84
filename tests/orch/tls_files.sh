#!/bin/sh
# tests/orch/tls_files.sh — a node's certificate and private key written through a real mount
# (fs/MOUNT.md "TLS"): the node's TLS level fails until both are there, saying so; a key
# without a certificate, a key that is not the certificate's, an expired or a malformed
# certificate, a key written into cert are refused at close with the reason, and a certificate
# past its bound committed from outside fails the node naming it; then curl
# --cacert over HTTPS gets the node's answers from the instance started with them; the key is
# write-only, kept 0600 in a 0700 directory of .git, and in no commit, object, log, image or
# cached file, while its fingerprint is committed; rotation (key and chain in one write)
# swaps the instance under a client loop and ab without a failed request; a level without
# TLS and back; git revert of the rotation puts the previous pair back in force; a remount
# starts the node with the kept key. Runs on spt, and on hvt where /dev/kvm can be opened.
# Skips (77) without /dev/fuse, curl, openssl, ab or git.
set -u
cd "$UNISEC_SRCDIR" || exit 1
. tests/lib.sh
. tests/orch/tls_lib.sh
need fusermount3 curl openssl ab git python3

# The test's keys and certificates, made now (nothing secret is in the tree): a CA, two
# leaves for localhost signed by it (the rotation's old and new), a key of neither, an
# Ed25519 and a 1024-bit RSA pair (unsupported), an expired certificate of the first key.
tls_begin one two
(
    cd "$K" || exit 1
    openssl ecparam -name prime256v1 -genkey -noout -out other.key &&
    openssl req -x509 -newkey ed25519 -nodes -subj /CN=localhost -days 30 -keyout ed.key \
        -out ed.crt &&
    openssl req -x509 -newkey rsa:1024 -nodes -subj /CN=localhost -days 30 -keyout weak.key \
        -out weak.crt &&
    openssl x509 -req -in one.csr -signkey one.key -days -1 -out old.crt
) >/dev/null 2>&1 || { echo "FAIL: openssl cannot make the test certificates"; exit 1; }
# The keys' base64 lines and raw private scalars: what must be found nowhere.
python3 - "$K" <<'PY' || exit 1
import re, subprocess, sys
d = sys.argv[1]
for k in ("one", "two"):
    t = subprocess.run(["openssl", "pkey", "-in", f"{d}/{k}.key", "-text", "-noout"],
                       capture_output=True, text=True, check=True).stdout
    m = re.search(r"priv:\s*\n((?:\s+[0-9a-f:]+\n)+)", t)
    open(f"{d}/{k}.secret", "wb").write(bytes.fromhex(re.sub(r"[\s:]", "", m.group(1))).lstrip(b"\0"))
    lines = [l for l in open(f"{d}/{k}.key") if not l.startswith("-----")]
    open(f"{d}/{k}.lines", "w").write("".join(l for l in lines if len(l) > 20))
PY

# leaks WHAT: neither key is in any object of the store, its history, logs, images, caches.
leaks() {
    S=$1
    python3 - "$K" "$S" "$UNISEC_CACHE_DIR" "$T/daemon.log" <<'PY' || bad "$2: a private key leaked"
import os, subprocess, sys
d, store = sys.argv[1], sys.argv[2]
secrets = []
for k in ("one", "two"):
    secrets.append(open(f"{d}/{k}.secret", "rb").read())
    secrets += [l.strip().encode() for l in open(f"{d}/{k}.lines")]
objs = subprocess.run(["git", "-C", store, "cat-file", "--batch-all-objects", "--batch"],
                      capture_output=True, check=True).stdout
logp = subprocess.run(["git", "-C", store, "log", "-p", "--all"], capture_output=True, check=True).stdout
bad = [f"git object database" for s in secrets if s in objs] + [f"git log -p" for s in secrets if s in logp]
if b"PRIVATE KEY" in objs:
    bad.append("a PRIVATE KEY object in git")
keys = os.path.join(store, ".git", "unisec-keys")
for top in [store] + sys.argv[3:]:
    for root, dirs, files in os.walk(top) if os.path.isdir(top) else [(os.path.dirname(top), [], [os.path.basename(top)])]:
        if os.path.commonpath([root, keys]) == keys:
            continue
        for f in files:
            p = os.path.join(root, f)
            try:
                data = open(p, "rb").read()
            except OSError:
                continue
            bad += [p for s in secrets if s in data]
if bad:
    sys.exit("found in " + ", ".join(sorted(set(bad))))
PY
    if git -C "$S" grep -q "PRIVATE KEY" $(git -C "$S" rev-list --all) 2>/dev/null; then
        bad "$2: git grep finds a private key in the history"; else ok; fi
}

# code URL-PATH CURL-ARGS...: the status of an HTTPS request to web, the CA trusted.
code() { p=$1; shift; curl -s -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$K/ca.crt" "$@" "https://localhost:$P$p"; }
B="-u bob:bob-demo-password"
# served_fp: the fingerprint of the certificate web serves.
served_fp() {
    echo | timeout 10 openssl s_client -connect 127.0.0.1:$P -servername localhost 2>/dev/null |
        openssl x509 -pubkey -noout 2>/dev/null | openssl pkey -pubin -outform DER 2>/dev/null |
        sha256sum | cut -d' ' -f1
}
# refused WHAT FILE REASON: the last write failed in the shell, and errors says why.
refused() {
    if [ "$rc" != 0 ] && tail -n 1 "$M/errors" | grep -q -- "$3"; then ok; else
        bad "$1: rc $rc, errors: $(tail -n 1 "$M/errors")"; fi
}

for target in ${TLS_TARGETS:-spt hvt}; do
    if [ $target = hvt ] && { ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; }; then
        echo "SKIP hvt: /dev/kvm cannot be opened"; continue
    fi
    S=$T/store.$target M=$T/mnt.$target W=$T/mnt.$target/nodes/web
    mkdir -p "$M"
    P=$(freeport)
    sed "s/http_port: 8443/http_port: $P/" tests/orch/tls.yaml >"$T/topo.yaml"
    check "$target: init" "$U" init "$S" --from "$T/topo.yaml" --policy-dir mount-examples/policy
    check "$target: the mount is served" mount_up --target $target

    # ---- no certificate, no key: the TLS level fails, saying what to write ----------------
    out=$(cat "$M/settle" 2>/dev/null)
    case $out in *"no usable certificate and key"*"nodes/web/tls/cert"*) ok ;;
        *) bad "$target: settle without a certificate says: $out" ;; esac
    case $(stat -c %a "$W/tls/cert" "$W/tls/key" "$W/tls/key.fingerprint" | tr '\n' ' ') in
        "644 200 444 ") ok ;; *) bad "$target: modes of tls/: $(stat -c %a "$W/tls/"*)" ;; esac

    # ---- refused at write, with the reason; nothing committed ----------------------------
    n0=$(git -C "$S" rev-list --count main)
    cat "$K/one.key" >"$W/tls/key" 2>/dev/null; rc=$?
    refused "$target: a key before any certificate" key "has no certificate yet"
    cat "$K/old.crt" >"$W/tls/cert" 2>/dev/null; rc=$?
    refused "$target: an expired certificate" cert "has expired"
    printf -- '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n' |
        cat >"$W/tls/cert" 2>/dev/null; rc=$?
    refused "$target: a malformed certificate" cert "not valid PEM"
    cat "$K/one.key" >"$W/tls/cert" 2>/dev/null; rc=$?
    refused "$target: a key written into cert" cert "holds a private key"
    cat "$K/one.key" "$K/one.crt" >"$W/tls/cert" 2>/dev/null; rc=$?
    refused "$target: a key and chain written into cert" cert "holds a private key"
    cat "$K/old.crt" "$K/one.key" >"$W/tls/key" 2>/dev/null; rc=$?
    refused "$target: a key with an expired chain" key "has expired"
    cat "$K/ed.key" "$K/ed.crt" >"$W/tls/key" 2>/dev/null; rc=$?
    refused "$target: an Ed25519 pair" key "neither EC nor RSA"
    cat "$K/weak.key" "$K/weak.crt" >"$W/tls/key" 2>/dev/null; rc=$?
    refused "$target: an RSA key of 1024 bits" key "RSA key of 1024 bits"
    check "$target: nothing was committed" test "$(git -C "$S" rev-list --count main)" = "$n0"

    # ---- a certificate past its bound (256 KiB) committed from outside: the node fails
    # naming the file and its size (never read whole); its removal puts the first reason back
    mkdir -p "$S/tls/web"
    head -c 300000 /dev/zero | tr '\0' A >"$S/tls/web/cert"
    OG="git -C $S -c user.name=operator -c user.email=operator@example.org"
    $OG add tls/web/cert && $OG commit -q -m "tls/web/cert: 300000 bytes"
    wait_for 20 sh -c "grep -q 'external commit $($OG rev-parse --short=12 main) by .* applied' '$M/events'"
    out=$(cat "$M/settle" 2>/dev/null)
    case $out in *"tls/web/cert: 300000 bytes, more than the 262144"*) ok ;;
        *) bad "$target: settle with a certificate past its bound says: $out" ;; esac
    $OG rm -q tls/web/cert && $OG commit -q -m "tls/web/cert: removed"
    wait_for 20 sh -c "grep -q 'external commit $($OG rev-parse --short=12 main) by .* applied' '$M/events'"
    out=$(cat "$M/settle" 2>/dev/null)
    case $out in *"no usable certificate and key"*"nodes/web/tls/cert"*) ok ;;
        *) bad "$target: settle once it is removed says: $out" ;; esac

    # ---- the certificate, then its key ----------------------------------------------------
    check "$target: cert written" sh -c "cat '$K/one.crt' '$K/ca.crt' >'$W/tls/cert'"
    cat "$K/other.key" >"$W/tls/key" 2>/dev/null; rc=$?
    refused "$target: a key that is not the certificate's" key "is not the private key"
    check "$target: key written" sh -c "cat '$K/one.key' >'$W/tls/key'"
    check "$target: settled" tls_settled
    got=$(code /catalogue/x $B)
    [ "$got" = 200 ] && ok || bad "$target: https with --cacert: got $got, expected 200"
    got=$(code /admin/users $B)
    [ "$got" = 403 ] && ok || bad "$target: https: staff denied /admin: got $got"
    got=$(code /catalogue/x)
    [ "$got" = 401 ] && ok || bad "$target: https: no credentials: got $got"
    check "$target: the served certificate is one's" test "$(served_fp)" = "$(tls_fp "$K/one.crt")"

    # ---- the key stays private ------------------------------------------------------------
    refuse() { if "$@" >/dev/null 2>&1; then bad "$d (succeeded)"; else ok; fi; }
    d="$target: key read back"; refuse cat "$W/tls/key"
    d="$target: key opened read-write"; refuse sh -c "exec 3<>'$W/tls/key'"
    chmod 644 "$W/tls/key" 2>/dev/null
    d="$target: key read back after chmod 644"; refuse cat "$W/tls/key"
    check "$target: key.fingerprint is the SPKI's SHA-256" \
        test "$(cat "$W/tls/key.fingerprint")" = "sha256:$(tls_fp "$K/one.crt")"
    check "$target: the fingerprint is committed by its writer" sh -c \
        "git -C '$S' log -1 --format='%an %s' -- tls/web/key.fingerprint | grep -q '^root web: tls key installed (sha256:'"
    check "$target: the chain is committed" sh -c "git -C '$S' show main:tls/web/cert | cmp -s - '$W/tls/cert'"
    case $(stat -c %a "$S/.git/unisec-keys" "$S/.git/unisec-keys/web" "$S/.git/unisec-keys/web/$(tls_fp "$K/one.crt")" | tr '\n' ' ') in
        "700 700 600 ") ok ;; *) bad "$target: key modes: $(ls -lR "$S/.git/unisec-keys")" ;; esac
    check "$target: unisec check of the store's topology" "$U" check "$S/topology.yaml"

    # ---- rotation: the new key and chain in one write, under load ------------------------
    load_start $target "https://127.0.0.1:$P/catalogue/x"
    sleep 2
    check "$target: rotated (key and chain together)" sh -c "cat '$K/two.key' '$K/two.crt' '$K/ca.crt' >'$W/tls/key'"
    check "$target: settled after rotation" tls_settled
    load_check $target "$target: rotation"
    check "$target: the served certificate is two's" test "$(served_fp)" = "$(tls_fp "$K/two.crt")"
    rot=$(git -C "$S" log -1 --format=%H --grep='tls certificate and key replaced')
    case $(git -C "$S" show --name-only --format= "$rot" | sort | tr '\n' ' ') in
        "tls/web/cert tls/web/key.fingerprint ") ok ;;
        *) bad "$target: the rotation's commit: $(git -C "$S" show --stat "$rot" | head -20)" ;; esac
    check "$target: a swap of the same image" grep -q "web: starting image.*to swap in" "$M/events"
    leaks "$S" "$target"

    # ---- a level without TLS and back: the credentials go with the TLS level only --------
    echo plain >"$W/security_level"
    check "$target: settled at plain" tls_settled
    got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 $B "http://127.0.0.1:$P/catalogue/x")
    [ "$got" = 200 ] && ok || bad "$target: plain HTTP at level plain: got $got"
    echo default >"$W/security_level"
    check "$target: settled at default again" tls_settled
    got=$(code /catalogue/x $B)
    [ "$got" = 200 ] && ok || bad "$target: https at default again: got $got"
    check "$target: still two's certificate" test "$(served_fp)" = "$(tls_fp "$K/two.crt")"

    # ---- git revert of the rotation: the previous pair (its key kept) is in force again ----
    git -C "$S" -c user.name=operator -c user.email=operator@example.org revert --no-edit "$rot" \
        >/dev/null 2>&1 || bad "$target: git revert of the rotation"
    check "$target: the revert is served" wait_for 10 sh -c \
        "grep -q '$(tls_fp "$K/one.crt")' '$W/tls/key.fingerprint'"
    check "$target: settled after the revert" tls_settled
    check "$target: the served certificate is one's again" test "$(served_fp)" = "$(tls_fp "$K/one.crt")"
    got=$(code /catalogue/x $B)
    [ "$got" = 200 ] && ok || bad "$target: https after the revert: got $got"

    # ---- remount: the kept key starts the node again ------------------------------------------
    fusermount3 -u "$M"; wait "$fgpid"; fgpid=
    check "$target: mounted again" mount_up --target $target
    check "$target: settled after the remount" tls_settled
    got=$(code /catalogue/x $B)
    [ "$got" = 200 ] && ok || bad "$target: https after the remount: got $got"
    fusermount3 -u "$M"; wait "$fgpid"; fgpid=
    leaks "$S" "$target (after the remount)"
done
echo "tls_files: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
