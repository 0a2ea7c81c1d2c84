#!/bin/sh
# tests/fs/sign.sh — a history that proves itself, for real: keys made with ssh-keygen here, a
# store made with a signing key, a real mount. Its commits (and the first one) carry SSH
# signatures that `git verify-commit` and `git log --show-signature` accept; with
# unisec.signedOnly, an outside commit that is unsigned, signed by a key that is not an
# allowed signer, or carries a signature copied from another commit is refused and the last
# good state stays served, while one signed by an allowed signer is applied; a work-tree edit
# is refused; a key others can read is refused. Skips (exit 77) without FUSE or ssh-keygen.
set -u
cd "$UNISEC_SRCDIR" || exit 1
. tests/lib.sh
need fusermount3 git
command -v ssh-keygen >/dev/null || { echo "SKIP: ssh-keygen is not installed (openssh-client)"; exit 77; }

U=$UNISEC
one_mount
GIT="git -C $S -c user.name=operator -c user.email=operator@example.org"

verified() { git -C "$S" verify-commit "$1"; }

# ---- keys: the daemon's, an operator's (both allowed), a stranger's (not allowed) -------------
for k in daemon alice mallory; do ssh-keygen -q -t ed25519 -N '' -C "$k" -f "$T/$k"; done
ssh-keygen -q -t ed25519 -N 'secret' -C locked -f "$T/locked"
{
    echo "unisec@example.org $(cat "$T/daemon.pub")"
    echo "alice@example.org $(cat "$T/alice.pub")"
} >"$T/allowed_signers"

sed 's/policy: restricted/policy: regular/' mount-examples/paper.yaml >"$T/topo.yaml"
cp "$T/daemon" "$T/open-key" && chmod 644 "$T/open-key"
refuse "init refuses a key others may read" "$U" init "$T/s0" --from "$T/topo.yaml" --signing-key "$T/open-key"
check "and creates nothing" test ! -e "$T/s0/.git"
refuse "init refuses a key it cannot sign with (passphrase)" "$U" init "$T/s1" --from "$T/topo.yaml" --signing-key "$T/locked"
check "and creates nothing" test ! -e "$T/s1/.git"
check "init with a signing key" "$U" init "$S" --from "$T/topo.yaml" --policy-dir mount-examples/policy --signing-key "$T/daemon"
check "the key is in the git directory, mode 0600" test "$(stat -c %a "$S/.git/unisec-signing-key")" = 600
check "the key is not in the tree" test -z "$(git -C "$S" ls-files | grep -i key)"
git -C "$S" config gpg.ssh.allowedSignersFile "$T/allowed_signers"
check "the first commit verifies with git verify-commit" verified HEAD
check "git log --show-signature names the signer" sh -c "git -C '$S' log -1 --show-signature | grep -q 'Good \"git\" signature for unisec@example.org'"

# ---- commits through the mount are signed ----------------------------------------------------
check "mount" mount_up --daemon --no-run
W=$M/nodes/web
A=$M/policy/acl
check "a level write" sh -c "echo critical > '$W/security_level'"
check "its commit verifies" verified HEAD
check "a policy write" sh -c "printf 'regular * GET /signed allow\n' | tee '$A'"
check "its commit verifies" verified HEAD
check "the signature is SSH's" sh -c "git -C '$S' cat-file commit HEAD | grep -q '^gpgsig -----BEGIN SSH SIGNATURE-----'"
check "git fsck accepts the signed history" git -C "$S" fsck --no-progress
refuse "the key never reaches the log" grep -q "PRIVATE KEY" "$S/.git/unisec.log"

# ---- without the option, an unsigned outside commit is applied (as before) ------------------
printf 'regular * GET /unsigned-ok allow\n' >"$S/policy/acl"
check "an unsigned outside commit" $GIT commit -qam "unsigned, option off"
check "is applied while the option is off" wait_for 10 grep -q "unsigned-ok" "$A"

# ---- unisec.signedOnly ------------------------------------------------------------------------
git -C "$S" config unisec.signedOnly true
printf 'regular * GET /good allow\n' >"$S/policy/acl"
check "an outside commit signed by an allowed signer" $GIT -c gpg.format=ssh -c user.signingkey="$T/alice" commit -S -qam "alice's change"
check "is applied" wait_for 10 grep -q "/good" "$A"
good=$(git -C "$S" rev-parse HEAD)

printf 'regular * GET /unsigned allow\n' >"$S/policy/acl"
check "an unsigned outside commit" $GIT commit -qam "unsigned change"
check "is refused" wait_for 10 grep -q "refused external commit .*not signed" "$M/errors"
same "the last good state stays served" "$A" "regular * GET /good allow"
$GIT reset -q --hard "$good"
wait_for 10 grep -q "external commit $(echo "$good" | cut -c1-12) .* applied" "$M/events"

printf 'regular * GET /mallory allow\n' >"$S/policy/acl"
check "a commit signed by a key that is not allowed" $GIT -c gpg.format=ssh -c user.signingkey="$T/mallory" commit -S -qam "mallory's change"
check "is refused" wait_for 10 grep -q "refused external commit .*signed by a key that is not an allowed signer" "$M/errors"
same "the last good state stays served" "$A" "regular * GET /good allow"
$GIT reset -q --hard "$good"

# A forgery: alice's valid signature of one commit, put on another tree.
printf 'regular * GET /forged allow\n' >"$S/policy/acl"
git -C "$S" add policy/acl
tree=$(git -C "$S" write-tree)
git -C "$S" cat-file commit "$good" | sed "1s/^tree .*/tree $tree/" >"$T/forged"
forged=$(git -C "$S" hash-object -t commit -w "$T/forged")
check "the forged commit carries alice's signature" grep -q "^gpgsig" "$T/forged"
refuse "git verify-commit refuses it" verified "$forged"
check "it is put on main" git -C "$S" update-ref refs/heads/main "$forged"
check "is refused" wait_for 10 grep -q "refused external commit $(echo "$forged" | cut -c1-12).*does not verify" "$M/errors"
same "the last good state stays served" "$A" "regular * GET /good allow"
$GIT reset -q --hard "$good"

# A pull that brings a signed commit on top of an unsigned one: the unsigned one refuses it.
printf 'regular * GET /mid allow\n' >"$S/policy/acl"
$GIT commit -qam "unsigned middle"
printf 'regular * GET /top allow\n' >"$S/policy/acl"
$GIT -c gpg.format=ssh -c user.signingkey="$T/alice" commit -S -qam "signed top"
check "a signed commit above an unsigned one is refused" wait_for 10 grep -q "refused external commit .*signed top" "$M/errors"
same "the last good state stays served" "$A" "regular * GET /good allow"
$GIT reset -q --hard "$good"

printf 'regular * GET /edited allow\n' >"$S/policy/acl"
check "a work-tree edit is refused under the option" wait_for 10 grep -q "refused edit of policy/acl .*signed" "$M/errors"
same "the last good state stays served" "$A" "regular * GET /good allow"
git -C "$S" checkout -q -- policy/acl

check "a write through the mount is still applied" sh -c "printf 'regular * GET /mounted allow\n' > '$A'"
check "and signed" verified HEAD
check "unmount" umount_wait

# A store whose main is not signed is not served under the option.
printf 'regular * GET /offline allow\n' >"$S/policy/acl"
$GIT commit -qam "unsigned while unmounted"
refuse "mount refuses a store whose main is unsigned" "$U" mount --no-run --store "$S" "$M"
$GIT reset -q --hard HEAD~1
check "it mounts once main is reset to a signed commit" mount_up --daemon --no-run
check "unmount" umount_wait

# A signer's valid-before (ssh-keygen's allowed signers) is judged now for commits that arrive,
# and at the commit's time for the history already served: dave's key was allowed until 2021.
ssh-keygen -q -t ed25519 -N '' -C dave -f "$T/dave"
echo "dave@example.org valid-before=\"20210101\" $(cat "$T/dave.pub")" >>"$T/allowed_signers"
check "mount" mount_up --daemon --no-run
good=$(git -C "$S" rev-parse HEAD)
printf 'regular * GET /dave-now allow\n' >"$S/policy/acl"
$GIT -c gpg.format=ssh -c user.signingkey="$T/dave" commit -S -qam "dave's change, today"
check "a commit by a signer whose key has expired is refused" wait_for 10 grep -q "refused external commit .*key has expired" "$M/errors"
$GIT reset -q --hard "$good"
printf 'regular * GET /dave-2020 allow\n' >"$S/policy/acl"
GIT_COMMITTER_DATE="2020-06-01T12:00:00Z" $GIT -c gpg.format=ssh -c user.signingkey="$T/dave" commit -S -qam "dave's change, dated 2020"
check "and so is one it dates from before the key expired" wait_for 10 sh -c "grep 'refused external commit' '$M/errors' | tail -1 | grep -q 'dated 2020.*key has expired'"
same "the last good state stays served" "$A" "regular * GET /mounted allow"
check "unmount" umount_wait
check "git verify-commit accepts the 2020 commit (judged at its time)" verified HEAD
check "a main signed by dave in 2020 is served: the key was valid then" mount_up --daemon --no-run
same "and it is what the mount serves" "$A" "regular * GET /dave-2020 allow"
check "unmount" umount_wait
$GIT reset -q --hard "$good"

# A key that others may read is refused, not used or ignored.
chmod 644 "$S/.git/unisec-signing-key"
git -C "$S" config unisec.signedOnly false
check "mount" mount_up --daemon --no-run
refuse "a write fails when the key is readable by others" sh -c "echo default > '$W/security_level'"
check "errors says why" grep -q "mode 0600" "$M/errors"
chmod 600 "$S/.git/unisec-signing-key"
check "unmount" umount_wait

# A sanitizer build's daemon reports leaks and errors in its log when it ends.
check "the daemon's log has no sanitizer report" sh -c "! grep -q 'Sanitizer' '$S/.git/unisec.log'"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
