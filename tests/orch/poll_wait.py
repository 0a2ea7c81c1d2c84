#!/usr/bin/env python3
"""poll_wait.py FILE WANT CMD: a reader of a growing file of the mount (events, access_log, ...)
waits in poll(2) and is woken when it grows.

Opens FILE, reads it to its end, and checks that poll() says there is nothing to read (at
once, and after waiting QUIET_MS when --quiet is given: no line is due meanwhile). Then runs
the shell command CMD, waits in poll() (at most 30 s) until FILE is readable, reads what came,
and checks that it holds WANT. Exits 0 when all holds, 1 saying what did not."""
import os
import select
import subprocess
import sys

args = sys.argv[1:]
quiet_ms = 0
if args and args[0].startswith("--quiet="):
    quiet_ms = int(args.pop(0).split("=", 1)[1])
path, want, cmd = args
fd = os.open(path, os.O_RDONLY)
while os.read(fd, 1 << 16):
    pass
p = select.poll()
p.register(fd, select.POLLIN)
if p.poll(0):
    sys.exit(f"{path}: readable right after it was read to its end")
if quiet_ms and p.poll(quiet_ms):
    sys.exit(f"{path}: readable while nothing was written to it")
if subprocess.run(["sh", "-c", cmd]).returncode != 0:
    sys.exit(f"the command failed: {cmd}")
got = b""
for _ in range(30):
    ev = p.poll(30000)
    if not ev:
        sys.exit(f"{path}: poll() was not woken within 30 s of: {cmd}")
    got += os.read(fd, 1 << 16)
    if want.encode() in got:
        sys.exit(0)
sys.exit(f"{path}: woken, but what came lacks {want!r}: {got[-300:]!r}")
