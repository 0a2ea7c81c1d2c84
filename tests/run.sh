#!/bin/sh
# tests/run.sh — the whole test suite, on a fresh Debian 12 machine as root: installs what
# is missing, builds, runs every test in a normal build and again under AddressSanitizer +
# UndefinedBehaviorSanitizer, then runs each fuzz harness briefly. Exits non-zero on any
# failure. Options: --quick runs the normal build only.
set -eu
cd "$(dirname "$0")/.."
. tests/deps.sh
deps_install test

quick=0
[ "${1:-}" = --quick ] && quick=1
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
passed=0; failed=0; skipped=0

# setup DIR ARGS...: configure a meson build directory once, then just rebuild.
setup() {
    dir=$1; shift
    if [ -f "$dir/build.ninja" ]; then
        meson setup --reconfigure "$dir" "$@" >/dev/null
    else
        meson setup "$dir" "$@" >/dev/null
    fi
    ninja -C "$dir" >/dev/null
}

# suite DIR: run meson's tests in DIR, add its counts to the totals.
suite() {
    log=$(mktemp)
    rc=0
    meson test -C "$1" --print-errorlogs >"$log" 2>&1 || rc=$?
    cat "$log"
    ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$log"); ok=${ok:-0}
    ex=$(sed -n 's/^Expected Fail: *\([0-9]*\).*/\1/p' "$log"); ex=${ex:-0}
    fl=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$log"); fl=${fl:-0}
    up=$(sed -n 's/^Unexpected Pass: *\([0-9]*\).*/\1/p' "$log"); up=${up:-0}
    sk=$(sed -n 's/^Skipped: *\([0-9]*\).*/\1/p' "$log"); sk=${sk:-0}
    to=$(sed -n 's/^Timeout: *\([0-9]*\).*/\1/p' "$log"); to=${to:-0}
    rm -f "$log"
    passed=$((passed + ok + ex)); failed=$((failed + fl + up + to)); skipped=$((skipped + sk))
    [ "$rc" -eq 0 ] || [ $((fl + up + to)) -gt 0 ] || failed=$((failed + 1))
}

echo "== build (debugoptimized, -Werror) and test"
setup build -Dwerror=true
suite build

if [ $quick = 0 ]; then
    echo "== build with AddressSanitizer + UndefinedBehaviorSanitizer and test"
    setup build-san -Dsanitize=true -Dwerror=true
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 suite build-san

    echo "== fuzz each harness for ${FUZZ_SECONDS}s"
    CC=clang setup build-fuzz -Dfuzz=true
    for f in build-fuzz/tests/fuzz/fuzz_*; do
        [ -f "$f" ] && [ -x "$f" ] || continue
        name=${f##*/fuzz_}
        work=$(mktemp -d)
        if "$f" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -print_final_stats=0 \
            "$work" "tests/fuzz/corpus/$name" >"$work.log" 2>&1; then
            echo "fuzz $name: ok, no crash ($(grep -o "Done [0-9]* runs" "$work.log" | tail -1))"
            passed=$((passed + 1))
        else
            echo "fuzz $name: FAILED"; tail -40 "$work.log"
            failed=$((failed + 1))
        fi
        rm -rf "$work" "$work.log"
    done
fi

echo "unisec: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
