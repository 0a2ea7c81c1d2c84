#!/usr/bin/env python3
"""Issue 15 item 3: an unknown user was answered in a fraction of the time of an existing
user with a wrong password (no PBKDF2 ran), which told who exists. Now the guest runs the
same PBKDF2 work for both: its console's count of iterations per check (item 2's counter)
is the credential's count for an existing user with a wrong password, for a user the rules
name who has no credential, and for a user nobody ever named. Not a timing measure."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import node  # noqa: E402

ITER = 200000
work = node.Work()
try:
    pol = node.policy_dir(work, "guarded * GET /public/* allow\n"
                                "guarded victim GET /private/* allow\n"
                                "guarded ghost GET /private/* allow\n",
                          [("victim", "right-password", ITER)])
    for target in node.targets():
        img = work.build("tests/attack/auth.yaml", "web", target, policy_dir=pol)
        inst = node.Instance(work, img, "enum-" + target)
        try:
            seen = []
            for n, user in enumerate(("victim", "ghost", "nobody")):
                # Each from its own address: the per-client budget plays no part.
                code = node.get(inst, "/private/x", [node.basic(user, "wrong")],
                                source="127.0.0.%d" % (40 + n))
                text = inst.wait_console(node.CHECK_LINE, n + 1, guard=20)
                counts = re.findall(node.CHECK_LINE, text)
                seen.append((user, code, int(counts[n]) if len(counts) > n else None))
            node.check(all(c == 401 for _, c, _ in seen), "%s: every wrong login is 401" % target)
            node.check(all(i == ITER for _, _, i in seen),
                       "%s: the same PBKDF2 iterations for known and unknown users: %s" % (target, seen))
        finally:
            inst.stop()
finally:
    work.cleanup()
node.finish()
