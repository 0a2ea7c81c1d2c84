#!/usr/bin/env python3
"""tests/orch/http_probe.py PORT OUT: the mount's metrics listener (-o metrics=) as a
Prometheus server and as a stranger see it. Writes the body of GET /metrics to OUT (for
metrics.py), then checks that junk, a wrong method or path, an oversized head, a client that
says nothing and more connections than the cap are each answered or refused as fs/MOUNT.md
says, and that a GET still works after all of them. Prints one line per failed check; exits 1
if any failed."""
import socket
import sys
import time

PORT = int(sys.argv[1])
failed = []


def check(ok, what):
    if not ok:
        failed.append(what)
        print("FAIL: " + what)


def exchange(data, timeout=30):
    """Sends DATA on a new connection and reads until the server closes it."""
    s = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
    try:
        if data:
            s.sendall(data)
        out = b""
        while True:
            try:
                b = s.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                break
            if not b:
                break
            out += b
        return out
    finally:
        s.close()


def status(resp):
    try:
        return int(resp.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


def get_metrics():
    r = exchange(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _, body = r.partition(b"\r\n\r\n")
    return status(r), head, body


code, head, body = get_metrics()
check(code == 200, "GET /metrics answers 200 (%d)" % code)
check(b"text/plain; version=0.0.4" in head, "the content type is Prometheus' text format")
check(b"Content-Length: %d" % len(body) in head, "Content-Length is the body's length")
open(sys.argv[2], "wb").write(body)

r = exchange(b"HEAD /metrics HTTP/1.0\r\n\r\n")
check(status(r) == 200 and r.endswith(b"\r\n\r\n"), "HEAD answers 200 without a body")
check(status(exchange(b"GET /metrics?name[]=x HTTP/1.1\r\n\r\n")) == 200, "a query is ignored")
check(status(exchange(b"junk\r\n\r\n")) == 400, "junk gets 400")
check(status(exchange(b"GET /metrics\r\n\r\n")) == 400, "HTTP/0.9 gets 400")
check(status(exchange(b"\x00\xff\x16\x03\x01\r\n\r\n")) == 400, "binary (a TLS hello) gets 400")
r = exchange(b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
check(status(r) == 405 and b"Allow: GET, HEAD" in r, "POST gets 405 with Allow")
check(status(exchange(b"GET /etc/passwd HTTP/1.1\r\n\r\n")) == 404, "another path gets 404")
check(status(exchange(b"GET /metricsx HTTP/1.1\r\n\r\n")) == 404, "/metricsx gets 404")
r = exchange(b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 5000 + b"\r\n\r\n")
check(status(r) == 431, "a head over 2 KiB gets 431 (%d)" % status(r))

# A client that says nothing is closed (the listener's timeout, not the test's).
t0 = time.monotonic()
r = exchange(b"", timeout=60)
check(r == b"" and time.monotonic() - t0 < 60, "a silent client is closed by the listener")

# The connection cap: 16 silent clients hold every slot; the 17th is closed at once, unanswered.
held = [socket.create_connection(("127.0.0.1", PORT), timeout=30) for _ in range(16)]
time.sleep(0.5)  # the listener takes them in
extra = socket.create_connection(("127.0.0.1", PORT), timeout=30)
try:
    extra.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
    got = extra.recv(100)
except (ConnectionResetError, BrokenPipeError):
    got = b""
extra.close()
check(got == b"", "a 17th connection is refused while 16 are held (%r)" % got[:20])
for s in held:
    s.close()
# Every slot is given back: a scrape works again.
ok = False
for _ in range(100):
    if get_metrics()[0] == 200:
        ok = True
        break
    time.sleep(0.1)
check(ok, "a scrape works once the held connections are gone")
sys.exit(1 if failed else 0)
