# e2e_lib.sh — sourced by the end-to-end scripts (e2e.sh, e2e_tls.sh): counting, waiting for
# a file's line, and starting an instance in the background. They set $tmp (a scratch
# directory) and $pids (what cleanup kills) first.
pass=0; fail=0
. tests/lib.sh

# waitfor FILE PATTERN: up to 10 s for PATTERN to appear in FILE.
waitfor() {
    i=0
    while ! grep -q "$2" "$1" 2>/dev/null; do
        i=$((i + 1)); [ $i -gt 100 ] && return 1; sleep 0.1
    done
}

# start NAME CMD...: runs CMD in the background (stdout NAME.out, stderr NAME.err) and sets
# $port to the address it reports listening on.
start() {
    name=$1; shift
    rm -f "$tmp/$name.out" "$tmp/$name.err" # never read an earlier instance's address
    "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    pids="$pids $!"
    if ! waitfor "$tmp/$name.err" "listening on"; then
        bad "$name did not start: $(cat "$tmp/$name.err")"; port=0; return 1
    fi
    port=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$tmp/$name.err" | head -1)
}
