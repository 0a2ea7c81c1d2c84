# tests/attack/lib.sh — what the attack scripts share: a store made from the paper's topology
# and the example policy, mounted for real (--no-run), and the check helpers. A script sources
# it, calls attack_mount, then checks; the mount is undone at exit. Skips (exit 77) where
# FUSE is unavailable.
set -u
cd "$UNISEC_SRCDIR" || exit 1
. tests/lib.sh
need fusermount3 git

U=$UNISEC
T=$(mktemp -d)
chmod 755 "$T" # an unprivileged user must reach the mount point
S=$T/store
M=$T/mnt
mkdir -p "$M"
pass=0; fail=0

attack_cleanup() {
    mountpoint -q "$M" 2>/dev/null && fusermount3 -u -z "$M" 2>/dev/null
    rm -rf "$T"
}
trap attack_cleanup EXIT

# as_nobody COMMAND...: runs COMMAND as user nobody (attack_nobody says whether it can).
attack_nobody() {
    [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && id nobody >/dev/null 2>&1
}
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }

# attack_mount [MOUNT OPTIONS...]: makes the store (the paper's topology, policy `regular` at
# both levels, the example policy files) and mounts it without running anything.
attack_mount() {
    sed 's/policy: restricted/policy: regular/' mount-examples/paper.yaml >"$T/topo.yaml"
    "$U" init "$S" --from "$T/topo.yaml" --policy mount-examples/policy >/dev/null ||
        { echo "FAIL: init"; exit 1; }
    ao=""
    [ "$(id -u)" = 0 ] && ao="-o allow_other"
    # shellcheck disable=SC2086
    mount_up --daemon --no-run $ao "$@"
}

# attack_done: prints the counts and exits with the result.
attack_done() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit
}
