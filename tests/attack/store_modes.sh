#!/bin/sh
# Issue 15, item 6: the salted hashes of policy/credentials were readable by everyone in the
# store (the file, git's objects) and in images with an internal PDP (0444 under images/).
# The store, its objects and its image cache must be its owner's alone, and images/ID/image
# readable only by those who may read policy/credentials.
. "$(dirname "$0")/lib.sh"
attack_mount

mode() { stat -c %a "$1"; }
check "the store directory is 0700" test "$(mode "$S")" = 700
others=$(find "$S" ! -type l -perm /o=rwx -print | head -3)
check "nothing in the store is open to others: $others" test -z "$others"
check "git's objects are not readable by others" sh -c "! find '$S/.git/objects' -type f -perm /o=r | grep -q ."

check "the image cache is there, 0700, before anything is built" test "$(mode "$S/.git/unisec-images")" = 700

# A real image with an internal PDP (level critical) in the store's image cache, as the
# orchestrator builds it.
"$U" build "$T/topo.yaml" --node web --level critical --target spt \
    --policy-dir mount-examples/policy --cache "$T/cache" -o "$S/.git/unisec-images" >"$T/build.out" 2>&1 ||
    bad "unisec build: $(tail -3 "$T/build.out")"
id=$(awk '{print $4}' "$T/build.out" | grep -E '^[0-9a-f]{40}$' | head -1)
check "the image is listed under images/" test -f "$M/images/$id/image"
check "images/ID/image has the read bits of policy/credentials (0440)" test "$(mode "$M/images/$id/image")" = 440
if attack_nobody; then
    refuse "nobody cannot read the store" as_nobody cat "$S/policy/credentials"
    refuse "nor its objects" as_nobody ls "$S/.git/objects"
    refuse "nobody cannot read policy/credentials" as_nobody cat "$M/policy/credentials"
    refuse "nor the image that carries them" as_nobody cat "$M/images/$id/image"
    check "the owner opens credentials to others" chmod 644 "$M/policy/credentials"
    check "then nobody reads the image too" as_nobody cat "$M/images/$id/image"
    chmod 640 "$M/policy/credentials"
else
    echo "note: the checks as another user need root, setpriv and user nobody; skipped"
fi

# A store made before (or opened up since) is closed at the next mount.
umount_wait
chmod 755 "$S" "$S/.git/unisec-images"
mount_up --daemon --no-run
check "the mount closes an open store again" test "$(mode "$S")" = 700
check "and its image cache" test "$(mode "$S/.git/unisec-images")" = 700
check "and says so" grep -q "was open to others (mode 0755): made 0700" "$T/mount.out"
check "a write through the mount" sh -c "echo 'regular * GET /m allow' >> '$M/policy/acl'"
if attack_nobody; then
    obj=$(find "$S/.git/objects" -type f -newer "$T/mount.out" | head -1)
    check "the write made a git object" test -n "$obj"
    refuse "which nobody can read" as_nobody cat "$obj"
fi
attack_done
