#!/usr/bin/env python3
"""Issue 15 item 2: Basic credentials with wrong passwords for an existing user cost a full
PBKDF2 each, which ran inside the guest's one event loop and stalled every connection.
Now a check runs in slices between the other connections' turns, and what one client may
make the guest compute is bounded (answered 429 beyond).

1. Stall: bad-password requests from four client addresses (2,000,000 iterations each)
   are sent, then 20 anonymous requests one after the other: every anonymous request is
   answered before the first check's 401 (the order of the guest's access log). Before the fix the first check held the loop: at most one anonymous
   answer fitted between two checks. The flood's requests all get 401.
2. Budget: six concurrent bad-password requests from one address start one check (the
   others 429); then one address's checks stop at client_failed_checks_per_minute (10): 429 with
   Retry-After, and the guest's count of checks says no more ran.
3. The right password still gets in (200) from another address."""
import os
import re
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import node  # noqa: E402

work = node.Work()
try:
    pol = node.policy_dir(work, "guarded * GET /public/* allow\n"
                                "guarded victim GET /private/* allow\n"
                                "guarded cheap GET /private/* allow\n",
                          [("victim", "right-password", 2000000), ("cheap", "cheap-password", 1000)])
    for target in node.targets():
        img = work.build("tests/attack/auth.yaml", "web", target, policy_dir=pol)
        inst = node.Instance(work, img, "flood-" + target)
        try:
            # 1. The stall.
            flood = []
            for i in range(4):
                s = inst.connect("127.0.0.%d" % (10 + i))
                s.sendall(node.request("/private/x", headers=[node.basic("victim", "bad-%d" % i)]))
                flood.append(s)
            anon = inst.connect()
            answered = 0
            for i in range(20):
                anon.sendall(node.request("/public/x"))
                answered += node.read_response(anon)[0] == 200
            anon.close()
            codes = [node.read_response(s)[0] for s in flood]
            for s in flood:
                s.close()
            node.check(answered == 20, "%s: 20 anonymous requests answered during the flood" % target)
            node.check(codes == [401] * 4, "%s: the flood's bad passwords get 401: %s" % (target, codes))
            # The guest's access log says in which order it answered.
            text = inst.wait_console(r'"GET /private/x" 401', 4)
            first = text.find('"GET /private/x" 401')
            before = len(re.findall(r'"GET /public/x" 200', text[:first]))
            node.check(first >= 0 and before == 20,
                       "%s: all 20 anonymous answers come before the first check's (%d did)"
                       % (target, before))

            # 2. The budget of one client address.
            conns = []
            for i in range(6):
                s = inst.connect("127.0.0.20")
                s.sendall(node.request("/private/x", headers=[node.basic("victim", "guess-%d" % i)]))
                conns.append(s)
            codes = sorted(node.read_response(s)[0] for s in conns)
            for s in conns:
                s.close()
            node.check(codes == [401] + [429] * 5,
                       "%s: one check at a time per client, the others 429: %s" % (target, codes))
            seq = []
            for i in range(12):
                s = inst.connect("127.0.0.21")
                s.sendall(node.request("/private/x", headers=[node.basic("cheap", "more-%d" % i)]))
                status, resp = node.read_response(s)
                seq.append((status, b"Retry-After:" in resp))
                s.close()
            node.check([st for st, _ in seq] == [401] * 10 + [429] * 2 and all(r for st, r in seq if st == 429),
                       "%s: 10 checks a minute per client, then 429 with Retry-After: %s" % (target, seq))
            text = inst.wait_console(node.CHECK_LINE, 4 + 1 + 10)
            done = len(re.findall(node.CHECK_LINE, text))
            node.check(done == 15, "%s: the guest ran 15 checks, no more (%d)" % (target, done))

            # 3. The right password, from an address with its budget whole.
            s = inst.connect("127.0.0.30")
            s.sendall(node.request("/private/x", headers=[node.basic("victim", "right-password")]))
            node.check(node.read_response(s)[0] == 200, "%s: the right password gets in" % target)
            s.close()
        finally:
            inst.stop()
finally:
    work.cleanup()
node.finish()
