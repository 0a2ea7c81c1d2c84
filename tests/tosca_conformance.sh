#!/bin/sh
# The TOSCA conformance test: `unisec check` against OpenStack tosca-parser's verdicts on its
# own test corpus (the shared tosca/conformance runner, outside this tree). Fails on any
# disagreement not listed in engine/TOPOLOGY.md section 1.9, and on any listed file that no
# longer disagrees. Skips (77) when the corpus is not there.
# Usage: tosca_conformance.sh SOURCE_ROOT UNISEC
set -u
src=$1; unisec=$2
runner=$src/../shared/tosca/conformance
if [ ! -x "$runner" ]; then
  echo "SKIP: no TOSCA conformance corpus at $src/../shared/tosca (tosca-parser's test data is not part of this tree)"
  exit 77
fi
listed=$(sed -n '/<!-- conformance: /,/<!-- \/conformance -->/p' "$src/engine/TOPOLOGY.md" |
  sed -n 's/^| `\([^`]*\)` |.*/\1/p' | sort -u)
out=$("$runner" "$unisec" 2>&1)
echo "$out" | tail -n 1
found=$(echo "$out" | sed -n 's/^\([^:]*\): tosca-parser says .*/\1/p' | sort -u)
fail=0
for f in $found; do
  echo "$listed" | grep -qxF "$f" && continue
  echo "FAIL: $(echo "$out" | grep -F "$f: tosca-parser says" | head -n 1)"; fail=1
done
for f in $listed; do
  echo "$found" | grep -qxF "$f" && continue
  echo "FAIL: $f is listed in engine/TOPOLOGY.md 1.9 but unisec and tosca-parser now agree on it"; fail=1
done
[ $fail -eq 0 ] && echo "conformance: every disagreement is listed in engine/TOPOLOGY.md 1.9"
exit $fail
