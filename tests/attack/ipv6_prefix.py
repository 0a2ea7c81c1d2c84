#!/usr/bin/env python3
"""Issue 15, found after item 2: the per-client limits (connections, failed password checks,
rate) keyed a client by its exact address, so a client with an IPv6 prefix, who may use
every address in it, got a fresh budget per address. Now an IPv6 client is its /64.

Run in a network namespace of its own (unshare -n), with addresses of two /64s on its
loopback, the node listening on a dual-stack socket ([::]):
1. Twelve bad passwords from twelve addresses of one /64: ten 401 (the budget of
   client_failed_checks_per_minute), then 429; the guest ran ten checks, no more.
2. An address of another /64 still gets its check (401).
3. An IPv4 client of the dual-stack socket is logged, and limited, as IPv4 (127.0.0.5), not
   as ::ffff:127.0.0.5."""
import os
import re
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import node  # noqa: E402

NET1, NET2 = "fd00:5ec::", "fd00:5ec:0:1::"

if os.environ.get("UNISEC_ATTACK_NETNS") != "1":
    env = dict(os.environ, UNISEC_ATTACK_NETNS="1")
    try:
        r = subprocess.run(["unshare", "-n", "--", sys.executable, os.path.abspath(__file__)],
                           env=env)
    except OSError as e:
        print("SKIP: cannot run unshare: %s" % e)
        sys.exit(77)
    sys.exit(r.returncode)

setup = [["ip", "link", "set", "lo", "up"]]
for net in (NET1, NET2):
    for host in ["1"] + ["%x" % (0x10 + i) for i in range(12)]:
        setup.append(["ip", "-6", "addr", "add", net + host + "/64", "dev", "lo", "nodad"])
for cmd in setup:
    if subprocess.run(cmd, capture_output=True).returncode != 0:
        print("SKIP: cannot set up the namespace's addresses (%s); a network namespace needs "
              "root or user namespaces" % " ".join(cmd))
        sys.exit(77)


def get6(port, source, path, headers=()):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.settimeout(30)
    s.bind((source, 0))
    s.connect(("::1", port))
    try:
        s.sendall(node.request(path, headers=headers))
        return node.read_response(s)
    finally:
        s.close()


work = node.Work()
try:
    pol = node.policy_dir(work, "guarded * GET /public/* allow\n"
                                "guarded cheap GET /private/* allow\n",
                          [("cheap", "cheap-password", 1000)])
    for target in node.targets():
        img = work.build("tests/attack/auth.yaml", "web", target, policy_dir=pol)
        inst = node.Instance(work, img, "v6-" + target, listen="[::]:0")
        try:
            seq = []
            for i in range(12):
                st, resp = get6(inst.port, NET1 + "%x" % (0x10 + i), "/private/x",
                                [node.basic("cheap", "guess-%d" % i)])
                seq.append(st)
            node.check(seq == [401] * 10 + [429] * 2,
                       "%s: twelve addresses of one /64 share one budget: %s" % (target, seq))
            text = inst.wait_console(node.CHECK_LINE, 10)
            node.check(len(re.findall(node.CHECK_LINE, text)) == 10,
                       "%s: the guest ran 10 checks for the /64" % target)
            st, _ = get6(inst.port, NET2 + "10", "/private/x", [node.basic("cheap", "other")])
            node.check(st == 401, "%s: another /64 has its own budget (%s)" % (target, st))
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(30)
            s.bind(("127.0.0.5", 0))
            s.connect(("127.0.0.1", inst.port))
            s.sendall(node.request("/public/v4"))
            st, _ = node.read_response(s)
            s.close()
            text = inst.wait_console(r"GET /public/v4", 1)
            line = [l for l in text.splitlines() if "/public/v4" in l]
            node.check(st == 200 and line and "127.0.0.5" in line[0] and "ffff" not in line[0],
                       "%s: an IPv4 client of the dual-stack socket is IPv4: %s" % (target, line))
        finally:
            inst.stop()
finally:
    work.cleanup()
node.finish()
