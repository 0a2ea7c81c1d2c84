#!/bin/sh
# Issue 15, item 1: a write refused with EFBIG must leave nothing of its open file applied —
# not at close (which reports the failure), not when the writer dies, not after later writes
# or an ftruncate. And ftruncate past the bound is refused at once.
. "$(dirname "$0")/lib.sh"
attack_mount

# py MODE FILE PREFIX_FILE: opens FILE (truncating), writes PREFIX_FILE's bytes, then a byte
# past the file's bound (must fail with EFBIG), then MODE: close (must fail), die (the
# writer is killed), more (writes the prefix again and closes: must fail), trunc (ftruncate
# and close: must fail), level (writes "ical\n" after "crit": must fail). Exit 0 when all
# of that held.
py() {
    python3 - "$@" <<'PY'
import errno, os, signal, sys
mode, path, prefix = sys.argv[1], sys.argv[2], open(sys.argv[3], 'rb').read()
fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
os.write(fd, prefix)
try:
    os.pwrite(fd, b'x', 64 << 20)
    sys.exit('the write past the bound succeeded')
except OSError as e:
    if e.errno != errno.EFBIG:
        sys.exit('the write past the bound failed with %s, not EFBIG' % e)
if mode == 'die':
    os.kill(os.getpid(), signal.SIGKILL)
if mode == 'more':
    try:
        os.pwrite(fd, prefix, 0)
    except OSError:
        pass
if mode == 'level':
    try:
        os.write(fd, b'ical\n')
        sys.exit('a write after the refused one succeeded')
    except OSError:
        pass
if mode == 'trunc':
    try:
        os.ftruncate(fd, len(prefix))
    except OSError:
        pass
try:
    os.close(fd)
except OSError as e:
    sys.exit(0)
sys.exit('close returned 0')
PY
}

# The topology less its last node, and the ACL less its trailing deny: each valid alone.
sed '/^    portal:/,$d' "$T/topo.yaml" >"$T/topo.prefix"
grep -v '/admin/\*  *deny' mount-examples/policy/acl >"$T/acl.prefix"
printf crit >"$T/level.prefix"

n0=$(commits)
for mode in close die more trunc; do
    if [ $mode = die ]; then py $mode "$M/topology.yaml" "$T/topo.prefix" 2>/dev/null; else
        check "topology.yaml: close fails after EFBIG ($mode)" py $mode "$M/topology.yaml" "$T/topo.prefix"
    fi
    check "topology.yaml: portal is still there ($mode)" test -d "$M/nodes/portal"
    if [ $mode = die ]; then py $mode "$M/policy/acl" "$T/acl.prefix" 2>/dev/null; else
        check "policy/acl: close fails after EFBIG ($mode)" py $mode "$M/policy/acl" "$T/acl.prefix"
    fi
    check "policy/acl: the trailing deny is still there ($mode)" \
        grep -q '^regular  *\*  *\*  */admin/\*  *deny' "$M/policy/acl"
done
check "a level write after EFBIG fails" py level "$M/nodes/web/security_level" "$T/level.prefix"
check "the level is unchanged" test "$(cat "$M/nodes/web/security_level")" = default
# The kernel sends the last release after the writer's death: give it time, then look.
sleep 0.5
check "nothing was committed" test "$(commits)" = "$n0"
check "the store's ACL still denies /admin" grep -q '/admin/\*  *deny' "$S/policy/acl"
check "EFBIG is reported in errors" grep -q "EFBIG" "$M/errors"

# ftruncate beyond the bound is refused when it is asked, not at close.
check "ftruncate of policy/acl past 64 MiB fails with EFBIG" python3 -c "
import errno, os, sys
fd = os.open('$M/policy/acl', os.O_WRONLY)
try:
    os.ftruncate(fd, (64 << 20) + 1)
    sys.exit('ftruncate succeeded')
except OSError as e:
    if e.errno != errno.EFBIG: sys.exit(str(e))
try:
    os.close(fd)
except OSError:
    sys.exit(0)
sys.exit('close returned 0')"
check "ftruncate of a level past 4 KiB fails with EFBIG" python3 -c "
import errno, os, sys
fd = os.open('$M/nodes/web/security_level', os.O_WRONLY)
try:
    os.ftruncate(fd, 1 << 30)
    sys.exit('ftruncate succeeded')
except OSError as e:
    if e.errno != errno.EFBIG: sys.exit(str(e))"
check "and nothing was committed" test "$(commits)" = "$n0"
attack_done
