#!/bin/sh
# tests/fs/hook.sh — the remote's pre-receive hook, for real: a bare repository with
# `unisec hook install`, a clone, real `git push`es over file://. A valid change lands; an
# invalid topology, policy or level is refused with FILE:LINE:COL on the pusher's terminal
# ("remote: ...") and the remote's main stays; attacks (a symbolic link, a submodule, a huge
# topology.yaml, YAML nested 100,000 deep, 5,000 files, directories nested 20 deep) are
# refused from the objects' headers or the loader's first bounds; drafts on other branches
# pass; a host's records (refs/unisec/deployed/HOST) only grow and must be records; with
# unisec.signedOnly, unsigned or wrongly signed commits and records are refused; main's tls/
# holds certificates that parse, are valid now and whose key's fingerprint is beside them; a
# PEM private key is refused anywhere (main, a draft, a commit it removed it again), with its
# path. Skips (77) without git, ssh-keygen or openssl.
set -u
cd "$UNISEC_SRCDIR" || exit 1
for c in git ssh-keygen openssl; do
    command -v $c >/dev/null || { echo "SKIP: $c is not installed"; exit 77; }
done

U=$UNISEC
T=$(mktemp -d)
S=$T/store
R=$T/remote.git
W=$T/clone
pass=0; fail=0
trap 'rm -rf "$T"' EXIT

. tests/lib.sh
GIT="git -C $W -c user.name=alice -c user.email=alice@example.org"
SIGN="-c gpg.format=ssh -c user.signingkey=$T/alice"

# lands WHAT [PUSH ARGS]: the push succeeds and the remote's ref is the clone's.
lands() {
    d=$1; shift
    if git -C "$W" push origin "${@:-main}" >"$T/push.out" 2>&1; then ok; else
        bad "$d: refused: $(cat "$T/push.out")"; fi
}
# refused WHAT PATTERN [PUSH ARGS]: the push fails, the pusher sees `remote: PATTERN`, and
# the remote's main has not moved. The clone goes back to the remote's main.
refused() {
    d=$1 pat=$2; shift 2
    before=$(git -C "$R" rev-parse main)
    if git -C "$W" push origin "${@:-main}" >"$T/push.out" 2>&1; then
        bad "$d: the push landed"
    elif ! grep -q "^remote: $pat" "$T/push.out"; then
        bad "$d: the pusher does not see 'remote: $pat': $(cat "$T/push.out")"
    elif [ "$(git -C "$R" rev-parse main)" != "$before" ]; then
        bad "$d: the remote's main moved"
    else
        ok
    fi
    git -C "$W" reset -q --hard origin/main
}
commit() { $GIT commit -qam "$1"; }

# ---- setup: a store, its bare remote with the hook, a clone -----------------------------------
check "init" "$U" init "$S" --from mount-examples/paper.yaml --policy-dir mount-examples/policy
check "a bare remote" git clone -q --bare "$S" "$R"
check "hook install" "$U" hook install "$R"
check "the hook is executable and runs unisec by its path" sh -c "test -x '$R/hooks/pre-receive' && grep -q \"^exec '/.*' hook pre-receive --target=hvt\$\" '$R/hooks/pre-receive'"
check "install again (its own hook)" "$U" hook install --target=hvt "$R"
printf '#!/bin/sh\nexit 0\n' >"$T/other-hook"
mkdir -p "$T/other.git" && git init -q --bare "$T/other.git" && cp "$T/other-hook" "$T/other.git/hooks/pre-receive"
check "an administrator's hook is kept" sh -c "! '$U' hook install '$T/other.git' && grep -q 'exit 0' '$T/other.git/hooks/pre-receive'"
check "--force replaces it" sh -c "'$U' hook install --force '$T/other.git' && grep -q 'hook pre-receive' '$T/other.git/hooks/pre-receive'"
check "install refuses what is no repository" sh -c "! '$U' hook install '$T/nothing'"
check "a clone" git clone -q "$R" "$W"

# ---- main: what a mount accepts lands, what it refuses does not --------------------------------
sed -i 's/^web default$/web critical/' "$W/state/levels"
commit "web critical"
lands "a valid level change"
check "the remote's main is the pushed commit" test "$(git -C "$R" rev-parse main)" = "$(git -C "$W" rev-parse HEAD)"

printf 'oops: [\n' >>"$W/topology.yaml"
commit "broken YAML"
refused "a topology that is not YAML" "topology.yaml:[0-9]*:[0-9]*: error: "
grep -q "^remote: unisec hook: refused refs/heads/main" "$T/push.out" && ok || bad "no summary: $(cat "$T/push.out")"

sed -i 's/type: webserver_unikernel_type$/type: no_such_type/' "$W/topology.yaml"
commit "unknown type"
refused "a node of an unknown type" "topology.yaml:[0-9]*:[0-9]*: error: .*no_such_type"

printf 'regular * GET /x maybe\n' >>"$W/policy/acl"
commit "a bad rule"
refused "an invalid ACL rule" "policy/acl:[0-9]*:[0-9]*: error: "

sed -i 's/^web critical$/web no_such_level/' "$W/state/levels"
commit "a level the node does not have"
refused "a level the node does not declare" "state/levels:[0-9]*:.*no_such_level"

mkdir -p "$W/state" && echo "web image=0123 level=default" >"$W/state/deployed"
$GIT add state/deployed && commit "a record on main"
refused "a record committed on main" "state/deployed: error: deployment records are not changed on main"

git -C "$R" config receive.denyDeleteCurrent ignore
refused "main deleted" "refs/heads/main: error: .*never deleted" :main

# ---- attacks: refused before anything large is read -------------------------------------------
ln -sf /etc/passwd "$W/policy/groups"
$GIT add policy/groups && commit "a symbolic link"
refused "a symbolic link" "policy/groups: error: a symbolic link"

head -c $((5 << 20)) /dev/zero | tr '\0' '#' >"$W/topology.yaml"
commit "a huge topology"
refused "a 5 MiB topology.yaml" "topology.yaml: error: 5242880 bytes (at most 4194304)"

{ printf 'a: '; head -c 100000 /dev/zero | tr '\0' '['; } >"$W/topology.yaml"
commit "nested YAML"
refused "YAML nested 100,000 deep" "topology.yaml:1:[0-9]*: error: .*nested more than"

mkdir "$W/many" && i=0 && while [ $i -lt 5000 ]; do : >"$W/many/$i"; i=$((i + 1)); done
$GIT add many && commit "5000 files"
refused "5000 files" "many: error: more than 4096 entries"

d="$W"; for i in $(seq 20); do d="$d/d"; done
mkdir -p "$d" && echo x >"$d/f" && $GIT add d && commit "deep directories"
refused "directories nested 20 deep" "d/d/d.*: error: directories nested deeper than 16"

$GIT update-index --add --cacheinfo "160000,$(git -C "$W" rev-parse HEAD),sub" && $GIT commit -qm "a submodule"
refused "a submodule" "sub: error: a submodule"

# ---- other refs --------------------------------------------------------------------------------
printf 'oops: [\n' >>"$W/topology.yaml"
commit "a draft"
lands "an invalid draft on another branch" HEAD:refs/heads/draft
draft=$(git -C "$W" rev-parse HEAD)
git -C "$W" reset -q --hard origin/main
refused "unisec's own namespace" "refs/unisec/other: error: " HEAD:refs/unisec/other

# ---- tls/: certificates that hold, and never a private key anywhere ----------------------------
( cd "$T" &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=web -days 30 \
        -keyout web.key -out web.crt 2>/dev/null &&
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=web \
        -keyout old.key -out old.csr 2>/dev/null &&
    # -days -1: it ended a day before it began
    openssl x509 -req -in old.csr -signkey old.key -days -1 -out old.crt 2>/dev/null ) ||
    bad "openssl made no certificates"
# fp CERT: the key.fingerprint a mount writes beside CERT (sha256 of its public key's DER)
fp() { printf 'sha256:%s\n' "$(tls_fp "$1")"; }
mkdir -p "$W/tls/web"
cp "$T/web.crt" "$W/tls/web/cert" && fp "$T/web.crt" >"$W/tls/web/key.fingerprint"
$GIT add tls && commit "web's certificate"
lands "a certificate and its key's fingerprint"
cp "$T/old.crt" "$W/tls/web/cert" && fp "$T/old.crt" >"$W/tls/web/key.fingerprint"
commit "an expired certificate"
refused "an expired certificate" "tls/web/cert: error: certificate 1 has expired"
printf 'not a certificate\n' >"$W/tls/web/cert"
commit "no certificate"
refused "a certificate that does not parse" "tls/web/cert: error: "
fp "$T/old.crt" >"$W/tls/web/key.fingerprint"
commit "another key's fingerprint"
refused "a fingerprint that is not the certificate's key" "tls/web/key.fingerprint:1:1: error: names key"
git -C "$W" rm -q tls/web/key.fingerprint && commit "no fingerprint"
refused "a certificate without its key's fingerprint" "tls/web/key.fingerprint: error: missing"
cp "$T/web.key" "$W/tls/web/key" && $GIT add tls && commit "web's key"
refused "a key under tls/" "tls/web/key: error: tls/ holds only"
cp "$T/web.key" "$W/notes.txt" && $GIT add notes.txt && commit "a key"
git -C "$W" rm -q notes.txt && commit "the key removed again"
refused "a private key in a commit whose successor removed it" "notes.txt:1:1: error: a PEM private key"
{ echo "an RSA key, indented, after text:"; openssl genrsa -traditional 2048 2>/dev/null | sed 's/^/  /'; } >"$W/README.keys"
$GIT add README.keys && commit "an RSA key"
refused "a PKCS#1 key after text" "README.keys:2:1: error: a PEM private key" HEAD:refs/heads/draft2
check "the refused draft is not on the remote" sh -c "! git -C '$R' rev-parse -q --verify refs/heads/draft2"
git -C "$W" rm -q -r tls && commit "web's TLS removed"
lands "a node's TLS removed"
cp "$T/web.crt" "$W/notes.txt" && $GIT add notes.txt && commit "a certificate is no secret"
lands "a certificate elsewhere"

# record PARENT REALISES [EXTRA]: a deployment record's commit (on PARENT, "" for none); EXTRA:
# a second file in its tree.
record() {
    blob=$(printf 'web image=%s level=default pdp=push policy=regular version=1\n' \
        0123456789abcdef0123456789abcdef01234567 | git -C "$W" hash-object -w --stdin)
    sub=$(printf '100644 blob %s\tdeployed\n' "$blob" | git -C "$W" mktree)
    tree=$( { printf '040000 tree %s\tstate\n' "$sub"; [ -z "${3:-}" ] || printf '100644 blob %s\textra\n' "$blob"; } | git -C "$W" mktree)
    printf 'deploy: web -> image 0123456789ab (default, push v1)\n\nRealises %.12s.\n\nRealises-commit: %s\nTarget: hvt\n' "$2" "$2" >"$T/msg"
    $GIT ${SIGNED:-} commit-tree ${SIGNED:+-S} ${1:+-p "$1"} -F "$T/msg" "$tree"
}
main=$(git -C "$W" rev-parse origin/main)
r1=$(record "" "$main")
lands "a host's first record" "$r1:refs/unisec/deployed/h1"
r2=$(record "$r1" "$main")
lands "its next record" "$r2:refs/unisec/deployed/h1"
check "the remote holds h1's records" test "$(git -C "$R" rev-parse refs/unisec/deployed/h1)" = "$r2"
refused "records rewritten" "refs/unisec/deployed/h1: error: .*only added to" "+$(record "" "$main"):refs/unisec/deployed/h1"
refused "records deleted" "refs/unisec/deployed/h1: error: .*never deleted" ":refs/unisec/deployed/h1"
refused "a record with a second file" "extra: error: a record holds only state/deployed" "$(record "$r2" "$main" extra):refs/unisec/deployed/h1"
refused "a record of a draft" "refs/unisec/deployed/h1: error: .*not in main's history" "$(record "$r2" "$draft"):refs/unisec/deployed/h1"
refused "a commit that is no record" "refs/unisec/deployed/h1: error: .*no deployment record" "$($GIT commit-tree -p "$r2" -m hello "$r2^{tree}"):refs/unisec/deployed/h1"
refused "a host name that cannot be one" "refs/unisec/deployed/h+1: error: .*cannot name a host" "$r2:refs/unisec/deployed/h+1"

# ---- unisec.signedOnly: only commits and records signed by an allowed signer -------------------
for k in alice mallory; do ssh-keygen -q -t ed25519 -N '' -C "$k" -f "$T/$k"; done
echo "alice@example.org $(cat "$T/alice.pub")" >"$T/allowed_signers"
git -C "$R" config unisec.signedOnly true
git -C "$R" config gpg.ssh.allowedSignersFile "$T/allowed_signers"
sed -i 's/^web critical$/web default/' "$W/state/levels"
commit "unsigned"
refused "an unsigned commit" "$R/\\{0,1\\}: error: commit [0-9a-f]* is not signed"
sed -i 's/^web critical$/web default/' "$W/state/levels"
$GIT -c gpg.format=ssh -c user.signingkey="$T/mallory" commit -S -qam "mallory's"
refused "a commit signed by a key that is not allowed" "refs/heads/main: error: .*signed by an allowed signer"
sed -i 's/^web critical$/web default/' "$W/state/levels"
$GIT $SIGN commit -S -qam "alice's"
lands "a commit signed by an allowed signer"
main=$(git -C "$W" rev-parse HEAD)
refused "an unsigned record" "refs/unisec/deployed/h1: error: .*records signed" "$(record "$r2" "$main"):refs/unisec/deployed/h1"
SIGNED=$SIGN
lands "a signed record" "$(record "$r2" "$main"):refs/unisec/deployed/h1"
SIGNED=

# ---- a first push to an empty remote is checked too -------------------------------------------
git init -q --bare "$T/empty.git"
check "hook install on an empty repository" "$U" hook install "$T/empty.git"
check "the store's main lands in it" git -C "$S" push -q "$T/empty.git" main
check "the hook ran (an invalid draft of main is refused there)" sh -c "! git -C '$W' push -q '$T/empty.git' $draft:refs/heads/main 2>/dev/null"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
