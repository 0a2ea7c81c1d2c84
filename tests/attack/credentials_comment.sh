#!/bin/sh
# Issue 15, item 13: a plaintext secret in a comment of policy/credentials (`# alice:hunter2`)
# was accepted and committed into history forever. It must be refused, and the secret must
# reach neither the store, nor errors, nor the log (tests/golden/acl/comment-secret checks
# `unisec acl check`'s words and what is still accepted).
. "$(dirname "$0")/lib.sh"
attack_mount

C=$M/policy/credentials
n0=$(commits)
refuse "a whole-line comment with alice:hunter2 is refused" sh -c "{ cat mount-examples/policy/credentials; echo '# alice:hunter2'; } | cat > '$C'"
refuse "a trailing comment with pw=hunter2 is refused" sh -c "{ cat mount-examples/policy/credentials; echo '# pw=hunter2'; } | cat > '$C'"
check "errors says why" grep -q "policy/credentials:6:3: error: a comment holds what looks like a plaintext secret" "$M/errors"
check "nothing was committed" test "$(commits)" = "$n0"
refuse "the secret is nowhere in the store's history" sh -c "git -C '$S' log -p --all | grep -q hunter2"
refuse "nor in errors" grep -q hunter2 "$M/errors"
refuse "nor in the daemon's log" grep -q hunter2 "$S/.git/unisec.log"
check "a credential commented out is still accepted" sh -c "{ cat mount-examples/policy/credentials; sed -n 3p mount-examples/policy/credentials | sed 's/^/# old: /'; } | cat > '$C'"
check "one commit" test "$(commits)" = $((n0 + 1))
attack_done
