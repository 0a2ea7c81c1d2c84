#!/usr/bin/env python3
"""Issue 16: TLS handshakes waiting their turn. A thousand clients connecting at once to a
node that serves HTTPS queue their handshakes behind each other on its one event loop (a few
hundred full handshakes a second); the header deadline (3 s), counted from the accept, closed
the connections still waiting, their clients connected again, to wait again: wrk at 1,000
connections got thousands of connect and read errors (bench/tls). Now a new TLS connection
is idle to the front until its first request byte (idle_timeout_ms, and shedding, as a
kept-alive connection); its head, once begun, still has the header deadline.

On a node with header_timeout_ms 500 and idle_timeout_ms 4000:
1. a client that starts its handshake 1.5 s after connecting (as a queued one is served
   late) is answered 200;
2. a connection that never starts a handshake is still closed by the server (within the 20 s
   hang guard; the time is printed, not asserted);
3. a client that trickles its request head after the handshake gets 408 from the header
   deadline."""
import os
import select
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import node  # noqa: E402

work = node.Work()
try:
    crt, key = work.path("cert.pem"), work.path("key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost", "-days", "2",
                    "-keyout", key, "-out", crt], check=True, capture_output=True)
    ctx = ssl.create_default_context(cafile=crt)
    ctx.check_hostname = False
    for target in node.targets():
        img = work.build("tests/attack/tls_queue.yaml", "queue", target)
        inst = node.Instance(work, img, "queue-" + target, ["--tls-cert", crt, "--tls-key", key])
        try:
            raw = inst.connect(guard=20)
            time.sleep(1.5)
            status = None
            try:
                s = ctx.wrap_socket(raw)
                s.sendall(node.request("/late"))
                status, _ = node.read_response(s)
                s.close()
            except (OSError, ssl.SSLError) as e:
                status = "closed (%s)" % e.__class__.__name__
            node.check(status == 200, "%s: a handshake begun 1.5 s after the accept is "
                       "answered (%s)" % (target, status))

            raw = inst.connect(guard=20)
            t = time.monotonic()
            closed = False
            try:  # an alert may come first (BearSSL closes with one); then the end
                while not closed:
                    closed = raw.recv(4096) == b""
            except ConnectionResetError:
                closed = True
            except OSError:
                pass
            node.check(closed, "%s: a connection that never starts its handshake is closed"
                       % target)
            print("%s: closed after %.1f s without a handshake" % (target, time.monotonic() - t),
                  flush=True)
            raw.close()

            s = ctx.wrap_socket(inst.connect(guard=20))
            status = None
            try:  # a byte every 0.1 s until the server answers
                for ch in b"GET /trickle HTTP/1.1\r\nHost: h\r\nX-Slow: " + b"a" * 200:
                    if select.select([s], [], [], 0.1)[0]:
                        break
                    s.sendall(bytes([ch]))
                status, _ = node.read_response(s)
            except (OSError, ssl.SSLError):
                pass
            node.check(status == 408, "%s: a head trickled after the handshake gets 408 (%s)"
                       % (target, status))
            s.close()
        finally:
            inst.stop()
finally:
    work.cleanup()
node.finish()
