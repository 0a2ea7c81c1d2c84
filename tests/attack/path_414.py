#!/usr/bin/env python3
"""Issue 15 item 14: a request path longer than an ACL can name (1,024 bytes) is answered
414 URI Too Long by acl_pep, not 401 (the lookup failing closed) or 503 (a pull PDP asked
about a query it cannot encode); a path of exactly 1,024 bytes is still decided by the
rules. Internal and pull PDPs (the PDP's address is a closed port: it is never asked)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import node  # noqa: E402

work = node.Work()
topo = "tests/builder/e2e/topology.yaml"
pol = "mount-examples/policy"
try:
    for target in node.targets():
        for level, extra in (("critical", []), ("pulled", ["--upstream", "pdp=127.0.0.1:1"])):
            img = work.build(topo, "web", target, level=level, policy_dir=pol)
            inst = node.Instance(work, img, "%s-%s" % (level, target), extra)
            try:
                edge = "/catalogue/" + "a" * (1024 - len("/catalogue/"))
                long = edge + "b"
                node.check(node.get(inst, long) == 414,
                           "%s %s: a 1,025-byte path is 414" % (target, level))
                node.check(node.get(inst, long + "?q=1") == 414,
                           "%s %s: a 1,025-byte path with a query is 414" % (target, level))
                want = 401 if level == "critical" else 503  # decided: anonymous / no PDP
                node.check(node.get(inst, edge) == want,
                           "%s %s: a 1,024-byte path is decided (%d)" % (target, level, want))
            finally:
                inst.stop()
finally:
    work.cleanup()
node.finish()
