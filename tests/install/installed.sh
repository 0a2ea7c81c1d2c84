#!/bin/sh
# tests/install/installed.sh PREFIX [HIDE...] — an installed unisec, end to end, with no
# source tree: `unisec check` and `unisec build` of the installed example, then a store mounted
# through PREFIX/sbin/mount.unisec (as mount(8) runs it) running real spt guests: settle, curl
# at both levels of web, a level flip, unmount; then through mount(8) itself, for fstab types
# fuse.unisec (mount.fuse3 runs `unisec` from its own PATH) and unisec (/sbin/mount.unisec).
# install.sh and deb.sh run it as `unshare -m` with UNISEC_TEST_NS=1: in that private mount
# namespace it hides each HIDE directory (the source and build trees) under an empty tmpfs,
# and puts unisec and mount.unisec where mount(8) looks for them. Run from a copy outside HIDE.
set -u
P=$1
shift
if [ "${UNISEC_TEST_NS:-}" = 1 ]; then
    mount --make-rprivate / || exit 1
    for h in "$@"; do
        [ ! -d "$h" ] || mount -t tmpfs none "$h" || exit 1
    done
fi
T=$(mktemp -d)
M=$T/mnt
EX=$P/share/doc/unisec/examples
U=$P/bin/unisec
export UNISEC_CACHE_DIR=$T/cache
unset UNISEC_SOURCE_DIR UNISEC_MODULES_DIR
mkdir -p "$M"
pass=0; fail=0

cleanup() {
    grep -q " $M fuse" /proc/mounts && fusermount3 -u -z "$M"
    unshadow
    # --one-file-system: never into a mount left behind (the real /usr/sbin bound read-only).
    rm -rf --one-file-system "$T"
}
trap cleanup EXIT
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
check() { d=$1; shift; if "$@" >"$T/out" 2>&1; then ok; else bad "$d: $(head -c 600 "$T/out")"; fi; }
wait_for() {
    n=$(($1 * 10)); shift
    while [ $n -gt 0 ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; n=$((n - 1)); done
    return 1
}
# shadow DIR LINK...: in this (private) namespace, DIR holds links to its own files and to
# each LINK (shadow.sh, copied beside this script).
shadows=
shadow() {
    d=$1; shift
    shadows="$d $shadows"
    sh "$(dirname "$0")/shadow.sh" "$d" "$T/shadow$(echo "$d" | tr / _)" "$@"
}
unshadow() {
    for d in $shadows; do
        b=$T/shadow$(echo "$d" | tr / _)
        umount "$d" 2>/dev/null; umount "$b" 2>/dev/null; rmdir "$b" 2>/dev/null
    done
    shadows=
}
settled() {
    out=$(cat "$M/settle")
    case $out in *"nodes run what is desired"*) ok ;; *) bad "$1: settle says: $out" ;; esac
}
# expect CODE WHAT USER PATH: web's answer to USER's GET of PATH.
expect() {
    got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -u "$3:$3-demo-password" \
        "http://127.0.0.1:$wp$4")
    if [ "$got" = "$1" ]; then ok; else bad "$2: got $got, expected $1"; fi
}
umount_wait() {
    fusermount3 -u "$M" && wait_for 30 sh -c "! grep -q ' $M fuse' /proc/mounts" &&
        wait_for 30 sh -c "! curl -s -o /dev/null http://127.0.0.1:$wp/"
}

echo "installed unisec: $U (share: $P/share/unisec)"
check "the installed catalogue and sources are there" test -f "$P/share/unisec/guest/modules/http_server/manifest.yaml"
check "mount.unisec is installed" test -x "$P/sbin/mount.unisec"
# (the package compresses them: unisec.1.gz)
check "the man pages are installed and render" sh -c "man -l '$P'/share/man/man1/unisec.1* | grep -q '^NAME' && man -l '$P'/share/man/man5/unisec-mount.5* | grep -q '^NAME'"
check "the bash completion is installed" bash -c "source '$P/share/bash-completion/completions/unisec' && complete -p unisec"

# Two free ports for web and portal.
set -- $(python3 -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
wp=$1 pp=$2
sed -e "s/http_port: 8080/http_port: $wp/" -e "s/listen_port: 8000/listen_port: $pp/" \
    "$EX/paper.yaml" >"$T/paper.yaml"
cp -r "$EX/policy" "$T/policy"

check "unisec check (installed catalogue)" "$U" check --target spt "$EX/paper.yaml"
grep -q "enforceable on spt" "$T/out" || bad "check's summary: $(cat "$T/out")"
"$U" build "$T/paper.yaml" --node web --level default --target spt -o "$T/img" >"$T/out" 2>&1 ||
    bad "unisec build (installed sources): $(tail -c 1500 "$T/out")"
grep -q "^web default spt [0-9a-f]* built" "$T/out" && ok || bad "build's line: $(cat "$T/out")"
check "the built image is there" sh -c "test -s $T/img/*/image"

check "init" "$U" init "$T/store" --from "$T/paper.yaml" --policy-dir "$T/policy" --target spt

# As mount(8) runs the helper for fstab type unisec: mount.unisec STORE DIR -o OPTIONS.
check "mount.unisec STORE DIR -o ..." "$P/sbin/mount.unisec" "$T/store" "$M" -o "target=spt,log=$T/daemon.log"
check "served" wait_for 20 test -f "$M/README"
settled "the demo topology runs from the installed sources"
expect 200 "carol at level default" carol /catalogue
check "level critical" sh -c "echo critical >$M/nodes/web/security_level"
settled "level critical"
expect 403 "carol at level critical" carol /catalogue
expect 200 "bob at level critical" bob /catalogue
check "unmount ends every instance" umount_wait

# mount(8): type fuse.unisec runs mount.fuse3, which runs `unisec` from a PATH of its own
# (/usr/local/bin, /usr/bin, ...); type unisec runs /sbin/mount.unisec. Only in a namespace of
# its own may this script put them there.
if [ "${UNISEC_TEST_NS:-}" = 1 ]; then
    shadow /usr/local/bin "$P/bin/unisec" && shadow /usr/sbin "$P/sbin/mount.unisec" ||
        bad "cannot put unisec and mount.unisec in mount's paths"
    check "mount -t fuse.unisec" mount -t fuse.unisec "$T/store" "$M" -o "norun,nofail,log=$T/daemon.log"
    check "fuse.unisec: served" wait_for 20 test -f "$M/nodes/web/security_level"
    grep -q critical "$M/nodes/web/security_level" && ok || bad "fuse.unisec: the level is not served"
    check "fuse.unisec: unmount" umount_wait
    check "mount -t unisec" mount -t unisec "$T/store" "$M" -o "norun,log=$T/daemon.log"
    check "unisec: served" wait_for 20 test -f "$M/nodes/web/security_level"
    check "unisec: unmount" umount_wait
    unshadow
else
    echo "SKIP part: mount -t unisec / fuse.unisec (needs a private mount namespace to put" \
        "unisec in mount's paths)"
fi

if [ $fail -gt 0 ] && [ -f "$T/daemon.log" ]; then echo "--- daemon log"; tail -40 "$T/daemon.log"; fi
echo "installed: $pass passed, $fail failed"
[ $fail -eq 0 ]
