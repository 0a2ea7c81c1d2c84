#!/usr/bin/env python3
"""Issue 14: an internal PDP's rules are a region the builder appends to linked code
(contract/abi.h, "the rules region"), which the guest reads at boot. An image whose region
lies is refused, never served from: a length past the region (into the heap, or 2^63), a
broken magic, a rule byte changed or a CRC-32C of other bytes (the header's CRC-32C, which
the guest checks instead of the blob's SHA-256), a segment pointing past the file
(the tender). The image as built boots and decides (anonymous GET /catalogue/x: 401). Its
region spans pages enough to be mapped from the file rather than copied (runtime/tender.h,
TENDER_MAP_MIN): spt's tender maps them, and a byte changed in a mapped page is refused by the
guest's sum; hvt's tender copies the region and sums it as it writes it (contract/abi.h,
UNISEC_BOOT_RULES_SUMMED): the same byte changed in a copied page makes the tender's sum
differ, which leaves the check to the guest, which refuses it. A good image's rules are
summed once, by the tender on hvt and by the guest on spt, and a changed byte is refused on
both with the guest's reason."""
import os
import shutil
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import node  # noqa: E402

work = node.Work()
topo = "tests/builder/e2e/topology.yaml"
try:
    # The example's rules and 2,000 more of the critical level's policy (none about
    # /catalogue/): some 80 KB of rules, mapped page by page.
    policy = work.path("policy")
    shutil.copytree("mount-examples/policy", policy)
    with open(os.path.join(policy, "acl"), "a") as f:
        f.write("".join("restricted * GET /f%d/* deny\n" % i for i in range(2000)))
    for target in node.targets():
        path = work.build(topo, "web", target, level="critical", policy_dir=policy)
        img = open(path, "rb").read()
        at, off, vaddr, filesz = node.rules_segment(img)
        magic, n, crc, zero = struct.unpack_from("<8sQII", img, off)
        node.check(magic == b"UNIRULES" and n == filesz - 24 and off + filesz == len(img),
                   "%s: the rules region is the file's end, header then %d bytes" % (target, n))
        # spt maps the region's pages from the file; hvt copies them, summing as it goes.
        loaded = "mapped" if target == "spt" else "copied and summed by the tender"
        node.check(off % 4096 == 0 and filesz > 8 * 4096,
                   "%s: the region starts a page and spans more than 8: %s" % (target, loaded))
        inst = node.Instance(work, path, "good-" + target)
        try:
            node.check(node.get(inst, "/catalogue/x") == 401,
                       "%s: the image as built decides (401 for anonymous)" % target)
            who = "tender as it loaded them" if target == "hvt" else "guest"
            node.check("their CRC-32C checked by the %s" % who in inst.console(),
                       "%s: the rules' CRC-32C is checked once, by the %s" % (target, who))
        finally:
            inst.stop()
        heap = (vaddr + filesz + 4095) // 4096 * 4096
        cases = []
        past = bytearray(img)
        struct.pack_into("<Q", past, off + 8, heap - (vaddr + 24) + 1)
        cases.append(("a length one byte into the heap", past, "rules region is malformed"))
        huge = bytearray(img)
        struct.pack_into("<Q", huge, off + 8, 1 << 63)
        cases.append(("a length of 2^63", huge, "rules region is malformed"))
        nomagic = bytearray(img)
        nomagic[off] ^= 0x20
        cases.append(("a broken magic", nomagic, "rules region is malformed"))
        empty = bytearray(img)
        struct.pack_into("<Q", empty, off + 8, 0)
        cases.append(("an empty region", empty, "rules region is empty"))
        flipped = bytearray(img)
        flipped[len(img) - 40] ^= 0xff
        cases.append(("a rule byte changed", flipped, "do not have its CRC-32C"))
        badsum = bytearray(img)
        struct.pack_into("<I", badsum, off + 16, crc ^ 1)
        cases.append(("a CRC-32C of other bytes", badsum, "do not have its CRC-32C"))
        mid = bytearray(img)
        mid[off + 4096 * 4 + 100] ^= 0x01  # a whole page in: mapped on spt, copied on hvt
        cases.append(("a byte changed in a mapped page" if target == "spt" else
                      "a byte changed in a copied page (the tender's sum differs)",
                      mid, "do not have its CRC-32C"))
        short = bytearray(img)
        struct.pack_into("<Q", short, at + 32, filesz + 4096)  # p_filesz past the file
        cases.append(("a segment past the end of the file", short, "outside the file"))
        for k, (what, data, why) in enumerate(cases):
            rc, text = node.boot_once(work, bytes(data), "bad-%s-%d" % (target, k))
            node.check(rc not in (None, 0) and why in text,
                       "%s: %s is refused at boot (%r; status %s)" % (target, what, why, rc))
finally:
    work.cleanup()
node.finish()
