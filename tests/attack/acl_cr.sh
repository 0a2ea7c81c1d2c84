#!/bin/sh
# Issue 15, item 8: a lone CR inside an ACL line made it show in a terminal as a commented-out
# deny while the allow after the CR was in force. Written through the mount, it must be
# refused with its column (tests/golden/acl/lone-cr checks `unisec acl check`'s words).
. "$(dirname "$0")/lib.sh"
attack_mount

A=$M/policy/acl
n0=$(commits)
# Shown by a terminal as "# regular * * /secret/* deny"; parsed before the fix as the rule
# "regular * * /secret/* allow" followed by a comment.
refuse "a lone CR inside a rule is refused" sh -c "{ cat mount-examples/policy/acl; printf 'regular * * /secret/* allow\r# regular * * /secret/* deny\n'; } | cat > '$A'"
check "errors names the line and the column of the CR" grep -q "policy/acl:15:28: error: carriage return" "$M/errors"
check "nothing was committed" test "$(commits)" = "$n0"
check "CRLF line ends still work" sh -c "sed 's/\$/\r/' mount-examples/policy/acl | cat > '$A'"
check "and are one commit" test "$(commits)" = $((n0 + 1))
attack_done
