#!/usr/bin/env python3
"""Issue 15 item 11: a client that shuts down its writing side after its requests gets its
answers and then the end of the connection from the node, not 60 s later (idle_timeout_ms).
One request, and two pipelined ones; the node keeps serving afterwards. The socket's
timeout is a hang guard far below the idle timeout, not a measure."""
import os
import re
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import node  # noqa: E402


def half_closed(inst, count):
    """Sends COUNT requests, shuts down the writing side, reads until the end: the statuses
    answered, and whether the node closed the connection (None: it did not within 20 s)."""
    s = inst.connect(guard=20)
    s.sendall(node.request("/public/x") * count)
    s.shutdown(socket.SHUT_WR)
    data = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
        closed = True
    except socket.timeout:
        closed = False
    s.close()
    return [int(m) for m in re.findall(rb"HTTP/1\.1 (\d{3}) ", data)], closed


work = node.Work()
blob = work.path("v1.blob")
try:
    subprocess.run([node.UNISEC, "acl", "compile", "mount-examples/policy", "--policy", "regular",
                    "--version", "1", "-o", blob], check=True, env=work.env)
    for target in node.targets():
        img = work.build("tests/builder/e2e/topology.yaml", "web", target, level="default",
                         policy_dir="mount-examples/policy")
        inst = node.Instance(work, img, "push-" + target, ["--policy", blob])
        try:
            inst.wait_console("policy version 1 in force")
            for count in (1, 2):
                codes, closed = half_closed(inst, count)
                node.check(codes == [200] * count,
                           "%s: %d request(s) then shutdown: answered %s" % (target, count, codes))
                node.check(closed, "%s: %d request(s) then shutdown: the node closes" % (target, count))
            node.check(node.get(inst, "/public/x") == 200, "%s: still serving" % target)
        finally:
            inst.stop()
finally:
    work.cleanup()
node.finish()
