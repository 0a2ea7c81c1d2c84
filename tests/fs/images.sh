#!/bin/sh
# tests/fs/images.sh — images/ID/image through a real mount is read from the image cache by
# offset (fs/MOUNT.md "The tree"): a 64 MiB image (as large as one with a million rules) reads
# back byte for byte whole and in chunks at any offset, its size is its file's, and neither an
# open nor a stat copies it into the daemon (its heap in use, `metrics`, stays where it was
# while three readers hold it open). An image removed while open (the collector's doing) still
# reads to its end and fstat(2) still tells its size, as a file of a disk file system would,
# until it is closed; its path is gone at once.
# Skips (exit 77) without FUSE.
set -u
cd "$UNISEC_SRCDIR" || exit 1
. tests/lib.sh
need fusermount3 git python3

U=$UNISEC
one_mount
check "init" "$U" init "$S" --from mount-examples/paper.yaml --policy-dir mount-examples/policy
check "it mounts" mount_up --daemon --no-run

# An image as the builder leaves one in the cache: a directory named by its id.
id=0123456789abcdef0123456789abcdef01234567
D=$S/.git/unisec-images/$id
mkdir -p "$D"
python3 -c "
import random, sys
r = random.Random(7)
sys.stdout.buffer.write(bytes(r.getrandbits(8) for _ in range(1 << 16)) * 1024)" >"$T/src"
# 64 KiB of random bytes 1024 times over would let a wrong offset that is a multiple of 64 KiB
# read the same bytes: each MiB gets its own first bytes.
python3 -c "
import sys
with open('$T/src', 'r+b') as f:
    for m in range(64):
        f.seek(m << 20); f.write(b'MiB %06d ' % m)" 
cp "$T/src" "$D/image"
echo '{}' >"$D/manifest.json"
echo 'built' >"$D/build.log"

heap() { awk '/^unisec_heap_inuse_bytes / {print int($2 / 1024)}' "$M/metrics"; } # kB
h0=$(heap)
check "the image is listed" test -e "$M/images/$id/image"
check "its size is its file's" test "$(stat -c %s "$M/images/$id/image")" = "$(stat -c %s "$T/src")"
check "it reads back whole, byte for byte" cmp "$M/images/$id/image" "$T/src"
chunks() {
    for m in 0 1 17 31 63; do
        for bs in 4096 131072 1048576; do
            dd if="$M/images/$id/image" bs="$bs" skip=$((m * 1048576 / bs)) count=1 2>/dev/null >"$T/got"
            dd if="$T/src" bs="$bs" skip=$((m * 1048576 / bs)) count=1 2>/dev/null | cmp -s - "$T/got" || return 1
        done
    done
    # an odd offset and length, across a MiB's end
    tail -c +$((5 * 1048576 - 1000)) "$M/images/$id/image" | head -c 5000 >"$T/got"
    tail -c +$((5 * 1048576 - 1000)) "$T/src" | head -c 5000 | cmp -s - "$T/got"
}
check "chunks at any offset read the file's bytes" chunks
same "the manifest reads as its file" "$M/images/$id/manifest.json" "{}"
same "the build log too" "$M/images/$id/build.log" "built"
check "a read past the end gives nothing" test "$(dd if="$M/images/$id/image" bs=4096 skip=16384 count=1 2>/dev/null | wc -c)" = 0

exec 3<"$M/images/$id/image" 4<"$M/images/$id/image" 5<"$M/images/$id/image"
stat "$M/images/$id/image" >/dev/null
h1=$(heap)
echo "heap in use: $h0 kB before, $h1 kB with three readers of the 64 MiB image open"
check "three open readers and a stat hold none of its 64 MiB in the daemon ($h0 -> $h1 kB)" \
    test "${h1:-0}" -lt $((${h0:-0} + 4096))
rm -rf "$D"
# fstat of an open file is a getattr of its path (the kernel sends no handle with it)
fstatfd() {
    python3 -c "
import os, stat, sys
st = os.fstat($1)
sys.exit(not (stat.S_ISREG(st.st_mode) and st.st_size == os.path.getsize('$T/src')))"
}
check "an image removed while open still has its size for fstat" fstatfd 4
refuse "while its path is gone" stat "$M/images/$id/image"
refuse "and its directory's" stat "$M/images/$id"
readfd3() {
    python3 -c "
import os, sys
b = b''
while True:
    d = os.read(3, 1 << 20)
    if not d: break
    b += d
sys.exit(b != open('$T/src', 'rb').read())"
}
check "an image removed while open still reads to its end" readfd3
check "and fstat after the read too" fstatfd 3
exec 3<&- 4<&- 5<&-
refuse "and is gone for a new open" test -e "$M/images/$id/image"
refuse "or an fstat once closed" sh -c "exec 6<'$M/images/$id/image'"
check "it unmounts" fusermount3 -u "$M"

echo "images: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
