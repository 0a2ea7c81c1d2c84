#!/bin/sh
# tests/fs/sync_fault.sh — a level write's deferred syncs failing, through a real mount, with
# the daemon built with the tests' faults (tests/orch/fault.c: "sync" fails the store's first 3
# deferred syncs with EIO): the write itself succeeds (committed, served); errors, events and
# the daemon's log say once that the syncs fail and why, `metrics` counts each failed attempt,
# and events says when they work again. Skips (77) without FUSE.
set -u
cd "$UNISEC_SRCDIR" || exit 1
. tests/lib.sh
need fusermount3 git

one_mount
W=$M/nodes/web
check "init" "$UNISEC" init "$S" --from mount-examples/paper.yaml --policy-dir mount-examples/policy
U=$UNISEC_FAULTS
mount_up UNISEC_TEST_FAULT=sync --no-run

n=$(commits)
check "a level write succeeds" sh -c "echo critical > '$W/security_level'"
check "as one commit" test "$(commits)" = "$((n + 1))"
same "the level is served" "$W/security_level" "critical"
# the syncer tries every 200 ms: the fourth attempt works
check "events says when the syncs work again" \
    wait_for 60 grep -q "the store's work tree is durable again" "$M/events"
failed="cannot make the store's work tree durable after a level write: .*syncing state/levels: Input/output error"
check "errors says the syncs failed, and why" grep -q "$failed" "$M/errors"
check "once" test "$(grep -c "$failed" "$M/errors")" = 1
check "events too" grep -q "$failed" "$M/events"
check "metrics counts each failed attempt" grep -qx "unisec_store_sync_failures_total 3" "$M/metrics"
check "the journal is finished" sh -c "! test -s '$S/.git/unisec-sync' || head -c1 '$S/.git/unisec-sync' | grep -q '#'"
check "a write after it makes no report" sh -c "echo default > '$W/security_level'"
check "(its syncs made by the syncer)" wait_for 20 sh -c "head -c1 '$S/.git/unisec-sync' | grep -q '#'"
check "(still 3 failures)" grep -qx "unisec_store_sync_failures_total 3" "$M/metrics"
check "(still one line in errors)" test "$(grep -c "$failed" "$M/errors")" = 1
check "it unmounts" umount_wait
wait "$fgpid" 2>/dev/null
fgpid=
check "the daemon's log has the failure" grep -q "$failed" "$T/daemon.log"

echo "sync_fault: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
