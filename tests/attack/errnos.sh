#!/bin/sh
# Issue 15, item 12: the errnos of fs/MOUNT.md. mkfifo and mknod of a device gave ENOSYS
# (EPERM is documented); a full disk gave EIO (ENOSPC is due); utimensat on a file of the
# tree returned 0 and changed nothing (refused with EPERM, as its times are the state's); a
# directory's mtime did not change when an editor's temporary file was made in it.
. "$(dirname "$0")/lib.sh"

# errno_of PYTHON-STATEMENT: prints the errno name the statement fails with, or "ok".
errno_of() {
    python3 -c "
import errno, os, stat
try:
    $1
    print('ok')
except OSError as e:
    print(errno.errorcode[e.errno])"
}

# The store on a small file system of its own, to fill it (needs root to mount a tmpfs).
FULL=""
if [ "$(id -u)" = 0 ] && mkdir "$T/disk" && mount -t tmpfs -o size=8m tmpfs "$T/disk" 2>/dev/null; then
    FULL=$T/disk
    S=$FULL/store
    trap 'attack_cleanup_disk' EXIT
    attack_cleanup_disk() {
        mountpoint -q "$M" 2>/dev/null && fusermount3 -u -z "$M" 2>/dev/null
        umount -l "$FULL" 2>/dev/null
        rm -rf "$T"
    }
else
    echo "note: the full-disk case needs root to mount a tmpfs; skipped"
fi
attack_mount

P=$M/policy
check "mkfifo gives EPERM" test "$(errno_of "os.mkfifo('$P/.fifo.tmp')")" = EPERM
check "mknod of a device gives EPERM" test "$(errno_of "os.mknod('$P/.dev.tmp', 0o600 | stat.S_IFCHR, os.makedev(1, 3))")" = EPERM
check "mknod of a regular temporary file works" test "$(errno_of "os.mknod('$P/.reg.tmp', 0o600 | stat.S_IFREG)")" = ok
check "and makes it" test -f "$P/.reg.tmp"
check "mknod of a regular file with another name gives EPERM" test "$(errno_of "os.mknod('$P/nosuch', 0o600 | stat.S_IFREG)")" = EPERM
rm -f "$P/.reg.tmp"

m0=$(stat -c %Y "$P/acl")
check "utimensat on a file of the tree gives EPERM" test "$(errno_of "os.utime('$P/acl', (1, 1))")" = EPERM
check "touch too" test "$(errno_of "os.utime('$P/acl')")" = EPERM
check "its mtime is unchanged" test "$(stat -c %Y "$P/acl")" = "$m0"
check "utimensat on a temporary file works" sh -c "touch '$P/.t.tmp' && touch -d 2001-01-01 '$P/.t.tmp' && test \"\$(stat -c %Y '$P/.t.tmp')\" = \"\$(date -d 2001-01-01 +%s)\""

d0=$(python3 -c "import os; print(os.stat('$P').st_mtime_ns)")
echo x >"$P/.acl.swp"
d1=$(python3 -c "import os; print(os.stat('$P').st_mtime_ns)")
check "a temporary file made in policy/ moves its mtime" test "$d1" -gt "$d0"
rm -f "$P/.acl.swp" "$P/.t.tmp"
d2=$(python3 -c "import os; print(os.stat('$P').st_mtime_ns)")
check "and its removal too" test "$d2" -gt "$d1"

if [ -n "$FULL" ]; then
    n0=$(commits)
    head -c 16m /dev/zero >"$FULL/filler" 2>/dev/null
    # 2,000 new rules: far more than the 8 MiB file system has left.
    rc=$(errno_of "fd = os.open('$P/acl', os.O_WRONLY | os.O_APPEND); os.write(fd, b''.join(b'regular * GET /full/%d allow\\n' % i for i in range(2000))); os.close(fd)")
    check "a write on a full disk gives ENOSPC (got $rc)" test "$rc" = ENOSPC
    check "errors says ENOSPC" grep -q "refused policy/acl (ENOSPC)" "$M/errors"
    check "nothing was committed" test "$(commits)" = "$n0"
    rm -f "$FULL/filler"
    check "with room again, the write works" sh -c "echo 'regular * GET /room allow' >> '$P/acl'"
    check "one commit" test "$(commits)" = $((n0 + 1))
    check "git fsck accepts the store" git -C "$S" fsck --no-progress
fi
attack_done
