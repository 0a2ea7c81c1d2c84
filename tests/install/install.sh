#!/bin/sh
# tests/install/install.sh — the install, relocated, without the source tree: `meson install
# --destdir` of this build, the installed tree moved elsewhere as a whole, then installed.sh run
# on it in a private mount namespace where the source and build trees are hidden under an empty
# tmpfs (so nothing can be found through the paths compiled in). Skips (77) without /dev/fuse,
# curl, or the privilege to make a mount namespace.
set -u
cd "$UNISEC_SRCDIR" || exit 1
[ -c /dev/fuse ] || { echo "SKIP: /dev/fuse is missing"; exit 77; }
for c in fusermount3 curl python3 unshare; do
    command -v $c >/dev/null || { echo "SKIP: $c is not installed"; exit 77; }
done
unshare -m true 2>/dev/null || { echo "SKIP: cannot make a mount namespace (needs root)"; exit 77; }

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
meson install -C "$UNISEC_BUILDDIR" --no-rebuild --quiet --destdir "$T/root" >"$T/log" 2>&1 ||
    { cat "$T/log"; echo "FAIL: meson install"; exit 1; }
prefix=$(meson introspect "$UNISEC_BUILDDIR" --buildoptions |
    python3 -c 'import json, sys; print([o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"][0])')
# Moved: nothing installed may depend on where it was meant to go.
mkdir -p "$T/elsewhere"
mv "$T/root$prefix" "$T/elsewhere/unisec"
cp tests/install/installed.sh tests/install/shadow.sh "$T/"
UNISEC_TEST_NS=1 unshare -m sh "$T/installed.sh" "$T/elsewhere/unisec" "$UNISEC_SRCDIR" \
    "$UNISEC_BUILDDIR"
