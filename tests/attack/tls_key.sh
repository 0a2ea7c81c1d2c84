#!/bin/sh
# tls_key.sh — ways a node's private key written through the mount could leak (issue 16):
# read back through the mount (by its owner, by root, after a chmod, by another user); written
# into the public cert file; quoted in errors, events or the log after a refusal; an editor's
# swap file beside it; in git's objects, git log -p, git grep; the key's file or directory open
# to others, or reached through a link planted in .git/unisec-keys; retired keys kept beyond
# the previous one. Keys are made by openssl at run time (none is in the tree). Skips (77)
# without openssl.
. tests/attack/lib.sh
command -v openssl >/dev/null || { echo "SKIP: openssl is not installed"; exit 77; }
attack_mount
W=$M/nodes/web/tls
K=$T/keys
mkdir -p "$K"
(cd "$K" && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj /CN=localhost -days 30 -keyout web.key -out web.crt &&
 openssl ecparam -name prime256v1 -genkey -noout -out other.key) >/dev/null 2>&1 ||
    { echo "FAIL: openssl"; exit 1; }
# What must be found nowhere: every base64 line of both keys.
grep -hv -- '-----' "$K/web.key" "$K/other.key" >"$K/lines"
leaked() { # leaked WHAT FILE...: none of the keys' lines is in FILE...
    if cat "$@" 2>/dev/null | grep -qFf "$K/lines"; then bad "$1: a key is in it"; else ok; fi
}

check "cert written" sh -c "cat '$K/web.crt' >'$W/cert'"
refuse "the key written into cert" sh -c "cat '$K/web.key' >'$W/cert'"
refuse "a key of another certificate" sh -c "cat '$K/other.key' >'$W/key'"
refuse "an editor's swap file beside the key" sh -c "cat '$K/web.key' >'$W/.key.swp'"
refuse "an editor's temporary file beside the key" sh -c ": >'$W/key~'"
check "the key written" sh -c "cat '$K/web.key' >'$W/key'"

# A chain written alone must be the installed key's: the pair never goes out of step.
openssl req -x509 -key "$K/other.key" -subj /CN=localhost -days 30 -out "$K/other.crt" 2>/dev/null
refuse "a chain of another key written alone" sh -c "cat '$K/other.crt' >'$W/cert'"
check "its refusal says how to rotate" sh -c "tail -n 1 '$M/errors' | grep -q 'cat NEW.key NEW.crt > nodes/web/tls/key'"
check "the installed chain stays" cmp -s "$W/cert" "$K/web.crt"
refuse "the key read back by its owner" cat "$W/key"
refuse "the key opened read-write" sh -c "exec 3<>'$W/key'"
chmod 0644 "$W/key" 2>/dev/null
refuse "the key read back after chmod 0644" cat "$W/key"
if attack_nobody; then
    refuse "the key read back by another user" as_nobody cat "$W/key"
    refuse "the key file read by another user" as_nobody cat "$S/.git/unisec-keys/web/$(tls_fp "$K/web.crt")"
else
    echo "skip: the other user's reads need root and setpriv"
fi
case $(stat -c %a "$S/.git/unisec-keys" "$S/.git/unisec-keys/web" "$S/.git/unisec-keys/web/$(tls_fp "$K/web.crt")" | tr '\n' ' ') in
    "700 700 600 ") ok ;; *) bad "key modes: $(ls -lR "$S/.git/unisec-keys")" ;; esac

# A link planted where the next key is staged, and the directory opened to others.
ln -s "$T/stolen" "$S/.git/unisec-keys/web/$(tls_fp "$K/other.crt").tmp"
chmod 0755 "$S/.git/unisec-keys" "$S/.git/unisec-keys/web"
cat "$K/other.key" "$K/other.crt" >"$K/pair"
check "a rotation (key and chain in one write)" sh -c "cat '$K/pair' >'$W/key'"
check "the planted link was not followed" test ! -e "$T/stolen"
check "the keys' directories are closed again" test "$(stat -c %a "$S/.git/unisec-keys" "$S/.git/unisec-keys/web" | tr '\n' ' ')" = "700 700 "
# The keys' directory replaced by a link to a directory others can read: refused.
mv "$S/.git/unisec-keys" "$T/keys.moved"
mkdir -m 0755 "$T/open"; ln -s "$T/open" "$S/.git/unisec-keys"
refuse "a key written through a linked keys' directory" sh -c "cat '$K/web.key' '$K/web.crt' >'$W/key'"
check "nothing was written there" test -z "$(ls -A "$T/open")"
rm "$S/.git/unisec-keys"; mv "$T/keys.moved" "$S/.git/unisec-keys"

# Keys are kept by fingerprint: the one in force and the previous one (a git revert of the
# last rotation has its key), no older one.
for n in third fourth; do
    openssl ecparam -name prime256v1 -genkey -noout -out "$K/$n.key" 2>/dev/null
    openssl req -x509 -key "$K/$n.key" -subj /CN=localhost -days 30 -out "$K/$n.crt" 2>/dev/null
    grep -hv -- '-----' "$K/$n.key" >>"$K/lines"
    check "rotation to $n" sh -c "cat '$K/$n.key' '$K/$n.crt' >'$W/key'"
done
case $(ls "$S/.git/unisec-keys/web" | tr '\n' ' ') in
    "$(printf '%s\n' "$(tls_fp "$K/third.crt")" "$(tls_fp "$K/fourth.crt")" | sort | tr '\n' ' ')") ok ;;
    *) bad "kept keys: $(ls "$S/.git/unisec-keys/web")" ;; esac

leaked "errors" "$M/errors"
leaked "events" "$M/events"
leaked "the daemon's log" "$S/.git/unisec.log"
leaked "the store's work tree and index" "$S/tls/web/cert" "$S/.git/index"
git -C "$S" cat-file --batch-all-objects --batch >"$T/objects"
leaked "git's object database" "$T/objects"
git -C "$S" log -p --all >"$T/logp"
leaked "git log -p" "$T/logp"
if git -C "$S" grep -q "PRIVATE KEY" $(git -C "$S" rev-list --all); then
    bad "git grep finds a private key"; else ok; fi
check "the fingerprint is committed" sh -c "git -C '$S' log --format=%s -- tls/web/key.fingerprint | grep -q 'sha256:'"
attack_done
