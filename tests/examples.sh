#!/bin/sh
# The example policy in mount-examples/policy is valid and decides as the README says.
set -u
cd "$UNISEC_SRCDIR"
p=mount-examples/policy
pass=0; fail=0
expect() { # expect EXIT POLICY SUBJECT METHOD PATH
    want=$1; shift
    out=$("$UNISEC" acl query $p "$@" 2>&1); rc=$?
    if [ "$rc" = "$want" ]; then pass=$((pass+1)); else
        echo "FAIL: acl query $p $*: exit $rc, expected $want: $out"; fail=$((fail+1)); fi
}
if "$UNISEC" acl check $p >/dev/null; then pass=$((pass+1)); else echo "FAIL: acl check $p"; fail=$((fail+1)); fi
expect 0 regular    carol GET /catalogue
expect 3 restricted carol GET /catalogue
expect 0 regular    bob   POST /orders/12
expect 3 regular    carol POST /orders/12
expect 3 regular    bob   GET /admin/users
expect 0 regular    alice DELETE /admin/users
expect 3 restricted bob   GET /admin/users
expect 0 restricted alice GET /admin/users
expect 1 regular    bob   GET /catalogue/../admin/x
echo "$pass passed, $fail failed"
[ $fail = 0 ]
