#!/bin/sh
# bench/fs_requests.sh — the FUSE requests one write costs the daemon, counted in libfuse's
# debug log (`unisec mount -f -o debug`: one `opcode:` line a request), for each unisec binary
# given (e.g. a new build and an older one): a level write as a program makes it (open with
# O_TRUNC, write, close), as `sh` and `bash` make `echo V > FILE`, an editor's replace of
# policy/acl (read, write a temporary file, fsync, rename), and a read. Each is made once
# before it is counted, so that what the kernel keeps is kept. Run from the source tree:
#   bench/fs_requests.sh build-rel/unisec /tmp/old/build-rel/unisec
set -u
[ $# -ge 1 ] || { echo "usage: bench/fs_requests.sh UNISEC [UNISEC...]" >&2; exit 2; }
[ -c /dev/fuse ] || { echo "bench/fs_requests: /dev/fuse is missing" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/unisec-bench-req.XXXXXX")
trap 'fusermount3 -u -z "$T/mnt" 2>/dev/null; rm -rf "$T"' EXIT
L=$T/mnt/nodes/web/security_level

program_write() {
    python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o644)
os.write(fd, sys.argv[2].encode()); os.close(fd)' "$L" "$1"
}
editor_replace() {
    python3 -c 'import os, sys
d = sys.argv[1]; p = d + "/acl"; t = d + "/.acl.tmp"
data = open(p).read()
with open(t, "w") as f:
    f.write(data); f.flush(); os.fsync(f.fileno())
os.replace(t, p)' "$T/mnt/policy"
}
# count WHAT COMMAND...: runs COMMAND once, then again counting the requests it made.
count() {
    what=$1; shift
    "$@" >/dev/null 2>&1
    sleep 0.3
    n0=$(grep -c 'opcode:' "$T/debug.log")
    "$@" >/dev/null 2>&1
    sleep 0.3
    n1=$(grep -c 'opcode:' "$T/debug.log")
    ops=$(grep 'opcode:' "$T/debug.log" | sed -n "$((n0 + 1)),${n1}p" |
        sed 's/.*opcode: \([A-Z_]*\).*/\1/' | tr 'A-Z\n' 'a-z ')
    printf '  %-44s %3d  %s\n' "$what" $((n1 - n0)) "$ops"
}

echo "bench/fs_requests: $(uname -srm), $(nproc) cores; FUSE requests a write costs"
for u in "$@"; do
    rm -rf "$T/store" "$T/mnt" && mkdir -p "$T/mnt"
    "$u" init "$T/store" --from mount-examples/paper.yaml --policy-dir mount-examples/policy \
        >/dev/null 2>&1 || { echo "bench/fs_requests: $u init failed" >&2; exit 1; }
    "$u" mount -f --no-run -o debug --store "$T/store" "$T/mnt" 2>"$T/debug.log" &
    pid=$!
    n=0
    while [ ! -e "$T/mnt/README" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
    echo "$u:"
    count "write nodes/web/security_level (a program)" program_write critical
    count "sh -c 'echo V > nodes/web/security_level'" sh -c "echo default >'$L'"
    count "bash -c 'echo V > nodes/web/security_level'" bash -c "echo critical >'$L'"
    count "an editor's replace of policy/acl" editor_replace
    count "cat nodes/web/security_level" cat "$L"
    fusermount3 -u "$T/mnt"
    wait "$pid"
done
