#!/bin/sh
# tests/orch/tls_remote.sh — a node's TLS certificate and key written through a mount that
# follows a remote (fs/MOUNT.md "TLS", "A remote as the source of truth"): the daemon follows a
# bare repository over git:// without being told of changes, so another clone's push moves the
# remote's main under it. A key written then is retried on the new main and lands (the other
# change kept, the key in force and never in any object of the remote or the store); after a
# refused outside commit (an invalid topology pushed), a key and chain written through the
# mount land with the last good files put back. --no-run: nothing is started. Skips (77)
# without /dev/fuse, git or openssl.
set -u
cd "$UNISEC_SRCDIR" || exit 1
. tests/lib.sh
. tests/orch/tls_lib.sh
need fusermount3 git openssl python3

U=$UNISEC
one_mount
pidd=
trap 'fusermount3 -u -z "$M" 2>/dev/null
    for p in $fgpid $pidd; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    rm -rf "$T"' EXIT
K=$T/keys
mkdir -p "$K" "$T/srv"
tls_certs "$K" one two || { echo "FAIL: openssl cannot make the test certificates"; exit 1; }
W=$M/nodes/web/tls
# clean REPO WHAT: no object of the git directory REPO holds a private key (its base64 lines)
clean() {
    python3 - "$1" "$K/one.key" "$K/two.key" <<'PY' || bad "$2: a private key is in $1"
import subprocess, sys
objs = subprocess.run(["git", "--git-dir", sys.argv[1], "cat-file", "--batch-all-objects",
                       "--batch"], capture_output=True, check=True).stdout
lines = [l.strip().encode() for k in sys.argv[2:] for l in open(k)
         if not l.startswith("-----") and len(l) > 20]
if b"PRIVATE KEY" in objs or any(l in objs for l in lines):
    sys.exit(1)
PY
}
rmain() { git --git-dir="$T/srv/remote.git" rev-parse main; }
# push WHAT: the clone $T/w commits what its work tree holds and pushes it to the remote's main
push() { git -C "$T/w" commit -qam "$1" && git -C "$T/w" push -q origin HEAD:main; }

PG=$(freeport)
check "init" "$U" init "$S" --from tests/orch/tls.yaml --policy-dir mount-examples/policy
check "the bare repository" git init -q --bare -b main "$T/srv/remote.git"
git_daemon --listen=127.0.0.1 --port="$PG" --base-path="$T/srv" --export-all \
    --enable=receive-pack "$T/srv"
G="git://127.0.0.1:$PG/remote.git"
check "git daemon answers" wait_for 10 git ls-remote "$G"
check "the mount is served" mount_up --log-to "$T/mount.log" --no-run -o remote="$G",fetch_interval=0
check "the remote has the store's main" test "$(rmain)" = "$(git -C "$S" rev-parse main)"
check "the certificate is written" sh -c "cat '$K/one.crt' '$K/ca.crt' >'$W/cert'"
check "and is on the remote" sh -c "git --git-dir='$T/srv/remote.git' show main:tls/web/cert | grep -q 'BEGIN CERTIFICATE'"
check "another clone of the remote" git clone -q "$G" "$T/w"
git -C "$T/w" config user.name other; git -C "$T/w" config user.email other@example.com

# ---- the remote's main moves (another clone pushes) while the daemon is told nothing: the key
# written on the old main is made again on the new one and lands ---------------------------
echo 'regular * GET /news/* allow' >>"$T/w/policy/acl"
check "the other clone's change" push "policy: news are public"
other=$(rmain)
check "the daemon has not seen it" test "$(git -C "$S" rev-parse main)" != "$other"
check "the key written on the old main succeeds" sh -c "cat '$K/one.key' >'$W/key'"
check "it is on the remote, after the other change" git --git-dir="$T/srv/remote.git" merge-base --is-ancestor "$other" main
check "the remote's last commit is the key's" sh -c \
    "git --git-dir='$T/srv/remote.git' log -1 --format=%s main | grep -q '^web: tls key installed (sha256:'"
check "the other change is kept" sh -c "git --git-dir='$T/srv/remote.git' show main:policy/acl | grep -q news"
check "the remote's fingerprint is one's" test "$(git --git-dir="$T/srv/remote.git" show main:tls/web/key.fingerprint)" = "sha256:$(tls_fp "$K/one.crt")"
check "the mount serves it" test "$(cat "$W/key.fingerprint")" = "sha256:$(tls_fp "$K/one.crt")"
check "the key is kept in the store, in force" test -s "$S/.git/unisec-keys/web/$(tls_fp "$K/one.crt")"
check "the store's main is the remote's" test "$(git -C "$S" rev-parse main)" = "$(rmain)"
check "the mount serves the other change" grep -q news "$M/policy/acl"

# ---- the chain renewed on the remote meanwhile: a renewal written on the old main would
# undo it unseen, and is refused (EAGAIN), the remote's kept --------------------------------
for n in renew1 renew2; do
    openssl x509 -req -in "$K/one.csr" -CA "$K/ca.crt" -CAkey "$K/ca.key" -CAcreateserial \
        -days 20 -extfile "$K/ext.cnf" -out "$K/$n.crt" 2>/dev/null
done
git -C "$T/w" pull -q origin main
cat "$K/renew1.crt" "$K/ca.crt" >"$T/w/tls/web/cert"
check "the other clone renews the chain" push "web: renewed elsewhere"
other=$(rmain)
if sh -c "cat '$K/renew2.crt' '$K/ca.crt' >'$W/cert'" 2>/dev/null; then
    bad "a renewal on the old main, over the other's, is accepted"; else ok; fi
check "errors say the chain changed on the remote (EAGAIN)" grep -q \
    "refused nodes/web/tls/cert (EAGAIN).*changed on the remote" "$M/errors"
check "the remote keeps the other's chain" test "$(rmain)" = "$other"
check "the mount serves it" sh -c "cat '$K/renew1.crt' '$K/ca.crt' | cmp -s - '$W/cert'"
check "written again, on what it now reads, it lands" sh -c "cat '$K/renew2.crt' '$K/ca.crt' >'$W/cert'"
check "(on the remote)" sh -c "git --git-dir='$T/srv/remote.git' show main:tls/web/cert | cmp -s - '$W/cert'"

# ---- a refused outside commit (an invalid topology pushed), then a key and chain written:
# they land with the last good files put back --------------------------------------------
git -C "$T/w" pull -q origin main
good=$(git --git-dir="$T/srv/remote.git" show main:topology.yaml | sha256sum)
printf 'topology_template: [not, a, mapping\n' >"$T/w/topology.yaml"
check "the other clone pushes an invalid topology" push "a broken topology"
kill -USR1 "$fgpid"
check "the daemon refuses it" wait_for 20 grep -q "refused external commit" "$M/errors"
check "and serves the last good topology" sh -c "test \"\$(sha256sum <'$M/topology.yaml')\" = '$good'"
check "key and chain two written after the refusal" sh -c "cat '$K/two.key' '$K/two.crt' '$K/ca.crt' >'$W/key'"
check "on the remote" sh -c \
    "git --git-dir='$T/srv/remote.git' log -1 --format=%s main | grep -q '^web: tls certificate and key replaced'"
check "with the last good topology put back" sh -c \
    "test \"\$(git --git-dir='$T/srv/remote.git' show main:topology.yaml | sha256sum)\" = '$good'"
check "the remote's fingerprint is two's" test "$(git --git-dir="$T/srv/remote.git" show main:tls/web/key.fingerprint)" = "sha256:$(tls_fp "$K/two.crt")"
check "the remote's chain is two's" sh -c "git --git-dir='$T/srv/remote.git' show main:tls/web/cert | cmp -s - '$W/cert'"
check "the mount serves two's fingerprint" test "$(cat "$W/key.fingerprint")" = "sha256:$(tls_fp "$K/two.crt")"
check "two's key is kept, in force" test -s "$S/.git/unisec-keys/web/$(tls_fp "$K/two.crt")"
clean "$T/srv/remote.git" "the remote"
clean "$S/.git" "the store"

check "it unmounts" umount_wait
wait "$fgpid"; fgpid=

# ---- without a remote: a refused commit made in the store, then a key and chain written ---
check "mounted again, without the remote" mount_up --log-to "$T/mount.log" --no-run
good=$(git -C "$S" show main:topology.yaml | sha256sum)
printf 'topology_template: [not, a, mapping\n' >"$S/topology.yaml"
git -C "$S" -c user.name=op -c user.email=op@example.com commit -q -am "a broken topology"
check "the commit in the store is refused" wait_for 20 grep -q "refused external commit.* by op" "$M/errors"
check "key and chain one written after it" sh -c "cat '$K/one.key' '$K/one.crt' '$K/ca.crt' >'$W/key'"
check "committed with the last good topology put back" sh -c \
    "test \"\$(git -C '$S' show main:topology.yaml | sha256sum)\" = '$good'"
check "and one's fingerprint" test "$(git -C "$S" show main:tls/web/key.fingerprint)" = "sha256:$(tls_fp "$K/one.crt")"
check "the work tree is the committed state" test -z "$(git -C "$S" status --porcelain -- topology.yaml tls)"
check "the mount serves one's fingerprint" test "$(cat "$W/key.fingerprint")" = "sha256:$(tls_fp "$K/one.crt")"
clean "$S/.git" "the store"
check "it unmounts" umount_wait
wait "$fgpid"; fgpid=
echo "tls_remote: $pass passed, $fail failed"
if [ $fail -gt 0 ]; then echo "--- the log"; tail -n 40 "$T/mount.log"; cat "$M/errors" 2>/dev/null; fi
[ $fail -eq 0 ]
