#!/bin/sh
# Every C file of the project is formatted as the root .clang-format says.
cd "$UNISEC_SRCDIR" || exit 1
command -v clang-format >/dev/null || { echo "SKIP: clang-format is not installed"; exit 77; }
command -v git >/dev/null && git rev-parse --git-dir >/dev/null 2>&1 || { echo "SKIP: not a git checkout"; exit 77; }
bad=0; n=0
for f in $(git ls-files '*.c' '*.h'); do
    n=$((n+1))
    clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || { echo "not formatted: $f (run clang-format -i $f)"; bad=$((bad+1)); }
done
echo "$((n-bad)) passed, $bad failed"
[ $bad = 0 ]
