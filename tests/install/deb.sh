#!/bin/sh
# tests/install/deb.sh — the Debian package, from the tree: a copy of the tree (the files git
# tracks or would track) built with `dpkg-buildpackage -us -uc -b`; its Depends checked
# (fuse3, gcc, binutils, libgit2 among them, each satisfied on this machine); the copy removed;
# the package unpacked with dpkg into a throwaway root and run end to end there by
# installed.sh, with this source tree hidden. Skips (77) without dpkg-buildpackage, debhelper,
# git, /dev/fuse, curl, or the privilege to make a mount namespace.
set -u
cd "$UNISEC_SRCDIR" || exit 1
for c in dpkg-buildpackage dh git fusermount3 curl python3 unshare; do
    command -v $c >/dev/null || { echo "SKIP: $c is not installed (debhelper, dpkg-dev)"; exit 77; }
done
[ -c /dev/fuse ] || { echo "SKIP: /dev/fuse is missing"; exit 77; }
unshare -m true 2>/dev/null || { echo "SKIP: cannot make a mount namespace (needs root)"; exit 77; }

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

mkdir "$T/src"
git ls-files -co --exclude-standard -z | xargs -0 tar -cf - | tar -xf - -C "$T/src" ||
    { echo "FAIL: cannot copy the tree"; exit 1; }
(cd "$T/src" && dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1 ||
    { tail -40 "$T/build.log"; echo "FAIL: dpkg-buildpackage"; exit 1; }
deb=$(ls "$T"/unisec_*_amd64.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { echo "FAIL: no package built"; ls "$T"; exit 1; }
echo "built $(basename "$deb") ($(wc -c <"$deb") bytes)"
rm -rf "$T/src"

# Depends: what images are built with, and the libraries; each one installed here.
deps=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $deps"
for need in fuse3 gcc binutils libgit2 libfuse3 libseccomp; do
    echo "$deps" | tr ',' '\n' | grep -q "^ *$need" || bad "Depends lacks $need"
done
for d in $(echo "$deps" | tr ',' '\n' | sed 's/^ *\([^ ]*\).*/\1/'); do
    dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q "ok installed" ||
        bad "Depends names $d, which is not installed here"
done
dpkg-deb -c "$deb" | grep -q "\./usr/sbin/mount.unisec -> \.\./bin/unisec" ||
    bad "the package lacks /usr/sbin/mount.unisec"
dpkg-deb -c "$deb" | grep -q "\./lib/systemd/system/unisec@.service\$" ||
    bad "the package lacks the unit unisec@.service"

dpkg -x "$deb" "$T/root" || { echo "FAIL: dpkg -x"; exit 1; }
cp tests/install/installed.sh tests/install/shadow.sh "$T/"
UNISEC_TEST_NS=1 unshare -m sh "$T/installed.sh" "$T/root/usr" "$UNISEC_SRCDIR" || fail=$((fail + 1))
[ $fail -eq 0 ]
