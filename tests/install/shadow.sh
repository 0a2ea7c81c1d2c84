#!/bin/sh
# tests/install/shadow.sh DIR BIND LINK... — only inside a private mount namespace (unshare -m):
# DIR comes to hold links to its own files and to each LINK (named as LINK's last component):
# DIR's files stay reachable through BIND (a new directory, DIR bound there read-only) under
# a tmpfs mounted over DIR. Undo: umount DIR; umount BIND; rmdir BIND (or end the namespace).
# Lets a test put a file where a program insists on finding it (mount(8)'s helpers in /sbin,
# syslog's /dev/log) without touching the machine.
set -e
d=$1 b=$2
shift 2
mkdir "$b"
mount --bind "$d" "$b"
mount -o remount,bind,ro "$b"
mount -t tmpfs none "$d"
for f in "$b"/* "$b"/.[!.]*; do
    [ -e "$f" ] || [ -L "$f" ] || continue
    ln -s "$f" "$d/"
done
for l in "$@"; do ln -sf "$l" "$d/"; done
