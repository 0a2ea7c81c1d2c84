#!/bin/sh
# tests/orch/verify.sh — `unisec verify` on a real history: a store made with a signing key,
# mounted for real (instances built and started), a level switched; its deployment records
# are on the host's ref refs/unisec/deployed/local (main holds none), signed (git
# verify-commit), and `unisec verify` holds, rebuilding each recorded image.
# Then each kind of tampering, on a copy of that history, makes it fail naming the commit or
# record: an unsigned commit, a record realising a commit outside main, a record whose image
# is not what its commit builds (another id, an internal PDP's rules at another version), and
# a kept image whose bytes were changed. Skips (77) without /dev/fuse, git or ssh-keygen.
set -u
cd "$UNISEC_SRCDIR" || exit 1
. tests/lib.sh
need fusermount3 git ssh-keygen python3
. tests/orch/verify_lib.sh
one_mount
W=$M/nodes/web
# A commit by alice (an allowed signer), signed with $SIGN; or by anyone, unsigned (SIGN=).
verify_begin mallory
check "the mount is served" mount_up
settled "mount"
echo critical >"$W/security_level"
settled "critical"
# One rule more: the internal PDP's new image is its base blob and a patch over it.
printf 'restricted * GET /patched allow\n' >>"$M/policy/acl"
settled "one rule more"
check "unmount" fusermount3 -u "$M"
wait "$fgpid"
fgpid=
check "the daemon's log has no sanitizer report" sh -c "! grep -q 'Sanitizer' '$T/daemon.log'"

R=refs/unisec/deployed/local
rec=$(git -C "$S" log --format=%H -1 --grep='^deploy: web -> .*(critical, internal' $R)
check "the switch's deployment is recorded" test -n "$rec"
check "the record is signed by the daemon (git verify-commit)" git -C "$S" verify-commit "$rec"
check "main holds no record: git log main is the history of decisions" sh -c "! git -C '$S' log --format=%s main | grep -q '^deploy:'"
check "each record's parent is the previous record" sh -c "[ \$(git -C '$S' rev-list --count $R) -ge 3 ] && [ -z \"\$(git -C '$S' rev-list --merges $R)\" ] && ! git -C '$S' merge-base --is-ancestor main $R"
check "it names the commit it realises in full" sh -c "git -C '$S' log -1 --format=%B $rec | grep -q '^Realises-commit: [0-9a-f]\{40\}\$'"
check "unisec verify holds on the good history" "$U" verify --store "$S"
"$U" verify --store "$S" >"$T/out" 2>&1
check "it prints a line per record, comparing bytes" test "$(grep -c '^record .*same bytes as the kept image' "$T/out")" -ge 3
check "the patched image's record names its base" sh -c "git -C '$S' show $R:state/deployed | grep -q '^web .* base=[0-9]* base_commit=[0-9a-f]\{40\}'"
check "its base is rebuilt and its patch checked" grep -q "^record .*same bytes as the kept image; its base rebuilt, its patch checked" "$T/out"
check "the summary" grep -q "holds: .* commits of main, each signed by an allowed signer; [0-9]* deployment records of 1 hosts" "$T/out"
[ "$fail" = 0 ] || cat "$T/out"
good=$(git -C "$S" rev-parse HEAD)
goodrec=$(git -C "$S" rev-parse $R)
deployed=$(git -C "$S" show $R:state/deployed)
webline=$(printf '%s\n' "$deployed" | grep '^web ')
src=$(git -C "$S" log -1 --format=%B "$rec" | sed -n 's/^Realises-commit: //p')
git -C "$S" show $R:state/patch >"$T/good.patch"
check "the record holds the image's patch" test -s "$T/good.patch"
target=$(git -C "$S" log -1 --format=%B "$rec" | sed -n 's/^Target: //p')

# record MESSAGE-SUBJECT SOURCE STATE-DEPLOYED [UNSIGNED]: alice commits a deployment record
# on the host's ref, signed (not with a fourth argument), holding the good record's patch (or
# the file $PATCH).
record() {
    blob=$(printf '%s\n' "$3" | git -C "$S" hash-object -w --stdin)
    pblob=$(git -C "$S" hash-object -w "${PATCH:-$T/good.patch}")
    sub=$(printf '100644 blob %s\tdeployed\n100644 blob %s\tpatch\n' "$blob" "$pblob" | git -C "$S" mktree)
    tree=$(printf '040000 tree %s\tstate\n' "$sub" | git -C "$S" mktree)
    printf '%s\n\nRealises-commit: %s\nTarget: %s\n' "$1" "$2" "$target" >"$T/msg"
    if [ -n "${4:-}" ]; then
        c=$($GIT commit-tree -p $R -F "$T/msg" "$tree")
    else
        c=$($GIT $SIGN commit-tree -S -p $R -F "$T/msg" "$tree")
    fi
    git -C "$S" update-ref $R "$c"
}
# Puts main and the host's ref back to the good history.
restore() {
    git -C "$S" reset -q --hard "$good"
    git -C "$S" update-ref $R "$goodrec"
}

# ---- an unsigned commit ------------------------------------------------------------------------
printf 'regular * GET /x allow\n' >>"$S/policy/acl"
$GIT commit -qam "unsigned change"
bad_id=$(git -C "$S" rev-parse HEAD)
fails_naming "an unsigned commit" "commit $bad_id" "is not signed"
git -C "$S" reset -q --hard "$good"

# ---- signed by a stranger ----------------------------------------------------------------------
printf 'regular * GET /x allow\n' >>"$S/policy/acl"
$GIT -c gpg.format=ssh -c user.signingkey="$T/mallory" commit -S -qam "mallory's change"
fails_naming "a commit signed by a key that is not allowed" "commit $(git -C "$S" rev-parse HEAD)" "not an allowed signer"
git -C "$S" reset -q --hard "$good"

# ---- a record realising a commit that is not in main -------------------------------------------
git -C "$S" checkout -q -b side
printf 'regular * GET /side allow\n' >>"$S/policy/acl"
$GIT $SIGN commit -S -qam "on a side branch"
side=$(git -C "$S" rev-parse HEAD)
git -C "$S" checkout -q main
record "deploy: web -> image 000000000000 (critical, internal v1)" "$side" "$deployed
# realised from a side branch"
fails_naming "a record realising a commit outside main" "record $(git -C "$S" rev-parse $R)" "not in main's history"
restore
git -C "$S" branch -q -D side

# ---- a record whose image is not what its commit builds ----------------------------------------
other=$(printf '%s\n' "$webline" | sed 's/image=[0-9a-f]*/image=0123456789abcdef0123456789abcdef01234567/')
record "deploy: web -> image 0123456789ab (critical, internal v1)" "$src" "$(printf '%s\n' "$deployed" | sed "s/^web .*/$other/")"
fails_naming "a record with another image id" "record $(git -C "$S" rev-parse $R)" "builds image"
restore

# An unsigned record.
record "deploy: web -> image 0123456789ab (critical, internal v1)" "$src" "$deployed" unsigned
fails_naming "an unsigned record" "record $(git -C "$S" rev-parse $R)" "is not signed"
restore

# The internal PDP's rules at another version: another image.
v=$(printf '%s\n' "$webline" | sed -n 's/.* version=\([0-9]*\).*/\1/p')
other=$(printf '%s\n' "$webline" | sed "s/version=$v/version=$((v + 7))/")
record "deploy: web -> image (critical, internal v$((v + 7)))" "$src" "$(printf '%s\n' "$deployed" | sed "s/^web .*/$other/")"
fails_naming "a record of rules at another version" "record $(git -C "$S" rev-parse $R)" "builds image\|does not bring the rules"
restore

# A base+patch record whose base names another commit (the one it realises, whose rules the
# base does not hold), or no commit.
base=$(printf '%s\n' "$webline" | sed -n 's/.* base_commit=\([0-9a-f]*\).*/\1/p')
other=$(printf '%s\n' "$webline" | sed "s/base_commit=$base/base_commit=$src/")
record "deploy: web -> image (critical, internal v$v)" "$src" "$(printf '%s\n' "$deployed" | sed "s/^web .*/$other/")"
fails_naming "a record whose base is another commit" "record $(git -C "$S" rev-parse $R)" "does not bring the rules .*another blob"
restore
other=$(printf '%s\n' "$webline" | sed "s/base_commit=$base/base_commit=0123/")
record "deploy: web -> image (critical, internal v$v)" "$src" "$(printf '%s\n' "$deployed" | sed "s/^web .*/$other/")"
fails_naming "a record whose base names no commit" "record $(git -C "$S" rev-parse $R)" "names no commit"
restore
# A record whose patch is damaged, or is another (the empty file).
cp "$T/good.patch" "$T/bad.patch"
printf 'X' | dd of="$T/bad.patch" bs=1 seek=200 conv=notrunc 2>/dev/null
PATCH=$T/bad.patch record "deploy: web -> image (critical, internal v$v)" "$src" "$deployed"
fails_naming "a record whose patch is damaged" "record $(git -C "$S" rev-parse $R)" "does not bring the rules"
restore
: >"$T/bad.patch"
PATCH=$T/bad.patch record "deploy: web -> image (critical, internal v$v)" "$src" "$deployed"
fails_naming "a record whose patch is empty" "record $(git -C "$S" rev-parse $R)" "does not bring the rules"
restore

# On main, a change of state/deployed is checked as a record (stores made them there before):
# one that names no commit does not hold.
printf '%s\n' "$deployed" | sed 's/level=critical/level=default/' >"$S/state/deployed"
git -C "$S" add state/deployed
$GIT $SIGN commit -S -qm "tidy state/deployed" state/deployed
fails_naming "a signed hand edit of state/deployed" "record $(git -C "$S" rev-parse HEAD)" "no deployment record"
restore

# ---- a kept image whose bytes changed -----------------------------------------------------------
img=$(printf '%s\n' "$webline" | sed 's/.*image=\([0-9a-f]*\).*/\1/')
f=$S/.git/unisec-images/$img/image
chmod u+w "$f" "$(dirname "$f")" 2>/dev/null
cp "$f" "$T/image.orig"
printf 'X' | dd of="$f" bs=1 seek=100 conv=notrunc 2>/dev/null
fails_naming "a kept image changed" "record $rec" "differs"
cp "$T/image.orig" "$f"
# A byte of its patch (the image's last bytes: the added rules' blob) changed.
size=$(stat -c %s "$f")
printf 'X' | dd of="$f" bs=1 seek=$((size - 3)) conv=notrunc 2>/dev/null
fails_naming "a kept image's patch changed" "record $rec" "differs"
cp "$T/image.orig" "$f"
# The kept image of a base and a patch removed: rebuilt from the history all the same.
mv "$S/.git/unisec-images/$img" "$T/kept"
check "a record whose image is not kept is rebuilt from its base and its record's patch" sh -c "'$U' verify --store '$S' >'$T/out' 2>&1 && grep -q 'same id; not kept; its base rebuilt' '$T/out'"
mv "$T/kept" "$S/.git/unisec-images/$img"
check "unisec verify holds again once the image is restored" "$U" verify --store "$S"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
