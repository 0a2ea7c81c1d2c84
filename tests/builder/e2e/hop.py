#!/usr/bin/env python3
"""hop.py PORT CAPTURE: a TCP relay on loopback to 127.0.0.1:PORT that appends every byte it
relays, either way, to CAPTURE: the hop between a load balancer and its backend, read by
tests/builder/e2e_tls.sh. Says "hop: listening on 127.0.0.1:N" on stderr; runs until killed."""
import socket
import sys
import threading

lock = threading.Lock()


def pipe(src, dst, capture):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            with lock:
                capture.write(data)
                capture.flush()
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    capture = open(path, "ab")
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    print(f"hop: listening on 127.0.0.1:{ls.getsockname()[1]}", file=sys.stderr, flush=True)
    while True:
        c, _ = ls.accept()
        try:
            u = socket.create_connection(("127.0.0.1", port))
        except OSError:
            c.close()
            continue
        for a, b in ((c, u), (u, c)):
            threading.Thread(target=pipe, args=(a, b, capture), daemon=True).start()


main()
