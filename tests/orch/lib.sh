# lib.sh — the counters and the wait that the orchestrator's shell tests share (sourced).
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
check() { d=$1; shift; if "$@" >/dev/null 2>&1; then ok; else bad "$d"; fi; }
# wait_for SECONDS CMD...: true as soon as CMD succeeds, false after SECONDS.
wait_for() {
    n=$(($1 * 10)); shift
    while [ $n -gt 0 ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; n=$((n - 1)); done
    return 1
}
# need CMD...: exits 77 (skip) saying why when /dev/fuse or one of the commands is missing.
need() {
    [ -c /dev/fuse ] || { echo "SKIP: /dev/fuse is missing"; exit 77; }
    for c in "$@"; do
        command -v "$c" >/dev/null || { echo "SKIP: $c is not installed"; exit 77; }
    done
}
