#!/bin/sh
# Golden tests: every directory tests/golden/KIND/CASE holds inputs and a file `error`
# with the exact output expected from unisec (stdout and stderr together), run inside the
# case directory so that file names in messages are relative.
#   topology/CASE: `unisec check input.yaml` (or input.csar, a CSAR archive) must exit 1 and
#                  print `error`
#   acl/CASE:      `unisec acl check <files present>`  must exit 1 and print `error`
#                  (acl, groups, credentials, then acl.d/NAME in byte order of NAME)
# Usage: run.sh KIND   (with $UNISEC set to the binary)
set -u
kind=$1
root=$(cd "$(dirname "$0")" && pwd)/$kind
[ -d "$root" ] || { echo "golden: no directory for $kind"; exit 1; }
pass=0; fail=0
for dir in "$root"/*/; do
  case=$(basename "$dir")
  [ -f "$dir/error" ] || { echo "golden $kind/$case: missing file 'error'"; fail=$((fail+1)); continue; }
  case $kind in
    topology) if [ -f "$dir/input.csar" ]; then set -- check input.csar; else set -- check input.yaml; fi ;;
    acl) set -- acl check; for f in acl groups credentials; do [ -f "$dir/$f" ] && set -- "$@" "$f"; done
         if [ -d "$dir/acl.d" ]; then
             for f in $(cd "$dir" && LC_ALL=C ls acl.d); do set -- "$@" "acl.d/$f"; done
         fi ;;
    *) echo "golden: unknown kind $kind"; exit 1 ;;
  esac
  out=$(cd "$dir" && "$UNISEC" "$@" 2>&1); rc=$?
  if [ $rc -ne 1 ]; then
    echo "FAIL $kind/$case: exit status $rc, expected 1"; echo "$out" | sed 's/^/    /'; fail=$((fail+1))
  elif [ "$out" != "$(cat "$dir/error")" ]; then
    echo "FAIL $kind/$case: output differs"
    printf '%s\n' "$out" | diff -u "$dir/error" - | sed 's/^/    /'; fail=$((fail+1))
  else
    pass=$((pass+1))
  fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
