#!/usr/bin/env python3
"""poll_rotate.py ACCESS_LOG URL: a reader waiting in poll(2) on a node's access_log while the
log rotates (it shrinks by the dropped file) is woken, and once it has read at its old offset
and got nothing, poll() says there is nothing to read (it does not spin) until a new line
comes past the log's new end.

Reads ACCESS_LOG to its end, makes requests to URL/catalogue/rot-N (curl) until the log is
smaller than that end (at most 400), waits for the last one's line, then checks: poll()
reports the file readable; a read at the old offset returns nothing; poll() at once then
reports nothing; one more request wakes a poll() again. Exits 0 when all holds."""
import os
import select
import subprocess
import sys
import time

log, url = sys.argv[1:]
fd = os.open(log, os.O_RDONLY)
end = 0
while True:
    b = os.read(fd, 1 << 16)
    if not b:
        break
    end += len(b)


def request(tag):
    subprocess.run(["curl", "-s", "-o", "/dev/null", f"{url}/catalogue/{tag}"], check=True)


def wait_line(tag):
    for _ in range(300):
        with open(log, "rb") as f:
            if f'"GET /catalogue/{tag}"'.encode() in f.read():
                return
        time.sleep(0.1)
    sys.exit(f"the line of {tag} never came")


n = 0
while os.fstat(fd).st_size >= end:
    n += 1
    if n > 400:
        sys.exit(f"the log did not rotate below {end} bytes")
    request(f"rot-{n}")
    if n % 20 == 0:
        wait_line(f"rot-{n}")
wait_line(f"rot-{n}")
p = select.poll()
p.register(fd, select.POLLIN)
if not p.poll(0):
    sys.exit("not readable after the log shrank")
os.lseek(fd, end, os.SEEK_SET)
if os.read(fd, 1 << 16):
    sys.exit("a read at the old offset returned bytes")
if p.poll(0):
    sys.exit("still readable after reading nothing at the old offset: a poll loop would spin")
request("rot-last")
if not p.poll(30000):
    sys.exit("not woken by a request after the rotation")
