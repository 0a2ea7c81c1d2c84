#!/usr/bin/env python3
"""Issue 14: an internal PDP's rules region may hold the policy index's base blob and, after
it at the next 8 bytes, a patch over it (common/acl_patch.h, engine_acl_region_split()), which
the guest applies at boot with the checks a pushed patch gets. Made here from a built image:
its blob kept as the base, a patch that removes one rule appended, the region's length and
CRC-32C and its segment set as the builder sets them. The patched image boots and decides by
the patched rules (the rule that let anonymous GET /open/x through is gone: 401); a patch whose
every byte but its checksum is sound yet one byte changed, one over another blob, one that
removes a rule the blob does not have, non-zero padding, and bytes after the patch are refused
at boot, each with the guest's reason, although the region's CRC-32C is right."""
import hashlib
import os
import shutil
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import node  # noqa: E402

POLY = 0x82F63B78
TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ (POLY if _c & 1 else 0)
    TABLE.append(_c)


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def rule_index(blob, subject, path):
    """The index of the blob's rule of SUBJECT and prefix PATH (stored without /*)."""
    soff, _ = struct.unpack_from("<II", blob, 48)
    roff, rcount = struct.unpack_from("<II", blob, 56)

    def s(at):
        return blob[soff + at:blob.index(b"\0", soff + at)].decode()
    for i in range(rcount):
        pol, pth, subj, meth, meta = struct.unpack_from("<5I", blob, roff + 20 * i)
        if s(subj) == subject and s(pth) == path and meta >> 1 & 1:
            return i, rcount
    raise RuntimeError("no rule %s %s/*" % (subject, path))


def patch(blob, dead, base_sha=None, version_add=1):
    """A patch over BLOB removing the rules DEAD (no rules added)."""
    version, = struct.unpack_from("<Q", blob, 16)
    sha = base_sha if base_sha is not None else blob[112:144]
    dead_end = 128 + 4 * len(dead)
    over_off = (dead_end + 7) // 8 * 8
    hdr = struct.pack("<8sIIQ32sQQQIIII32s", b"UACLPTCH", 2, 128, version, sha, version,
                      version + version_add, over_off, 128, len(dead), over_off, 0, b"\0" * 32)
    p = bytearray(hdr + struct.pack("<%dI" % len(dead), *dead) + b"\0" * (over_off - dead_end))
    p[96:128] = hashlib.sha256(bytes(p)).digest()
    return p


def image(img, blob, rest):
    """IMG with its rules region made of BLOB and REST (padding and patch), as the builder
    makes it: the header's length and CRC-32C, the segment's and section's sizes."""
    at, off, _, _ = node.rules_segment(img)
    rules = bytes(blob) + bytes(rest)
    out = bytearray(img[:off + 24]) + rules
    struct.pack_into("<QI", out, off + 8, len(rules), crc32c(rules))
    struct.pack_into("<QQ", out, at + 32, 24 + len(rules), 24 + len(rules))
    shoff, = struct.unpack_from("<Q", out, 0x28)
    shnum, = struct.unpack_from("<H", out, 0x3C)
    for i in range(shnum):
        if struct.unpack_from("<Q", out, shoff + 64 * i + 24)[0] == off:
            struct.pack_into("<Q", out, shoff + 64 * i + 32, 24 + len(rules))
    return bytes(out)


work = node.Work()
topo = "tests/builder/e2e/topology.yaml"
try:
    policy = work.path("policy")
    shutil.copytree("mount-examples/policy", policy)
    with open(os.path.join(policy, "acl"), "a") as f:
        f.write("restricted * GET /open/* allow\n")
        f.write("".join("restricted * GET /f%d/* deny\n" % i for i in range(2000)))
    for target in node.targets():
        img = open(work.build(topo, "web", target, level="critical", policy_dir=policy),
                   "rb").read()
        _, off, _, filesz = node.rules_segment(img)
        blob = img[off + 24:off + filesz]
        node.check(crc32c(blob) == struct.unpack_from("<I", img, off + 16)[0],
                   "%s: the test's CRC-32C is the builder's" % target)
        pad = b"\0" * ((8 - len(blob) % 8) % 8)
        open_rule, nrules = rule_index(blob, "*", "/open")
        path = work.path("base-" + target)
        with open(path, "wb") as f:
            f.write(img)
        inst = node.Instance(work, path, "base-" + target)
        try:
            node.check(node.get(inst, "/open/x") != 401,
                       "%s: the base lets anonymous GET /open/x through" % target)
        finally:
            inst.stop()
        good = patch(blob, [open_rule])
        path = work.path("patched-" + target)
        with open(path, "wb") as f:
            f.write(image(img, blob, pad + good))
        inst = node.Instance(work, path, "patched-" + target)
        try:
            node.check(node.get(inst, "/open/x") == 401,
                       "%s: the patched image decides by the patched rules (401)" % target)
            node.check("patched: 1 removed, 0 added" in inst.console(),
                       "%s: acl_pep says the patch is in force" % target)
        finally:
            inst.stop()
        cases = []
        flipped = bytearray(good)
        flipped[128] ^= 0x01  # the removed rule's index: another rule, same checksum field
        cases.append(("a patch byte changed", pad + flipped, "checksum mismatch"))
        cases.append(("a patch over another blob", pad + patch(blob, [open_rule], b"\1" * 32),
                      "another blob"))
        cases.append(("a patch removing a rule the blob has not",
                      pad + patch(blob, [nrules]), "not ascending rules"))
        if pad:
            cases.append(("padding that is not zeros", b"\1" + pad[1:] + good, "padding"))
        cases.append(("bytes after the patch", pad + good + b"\0" * 8, "recorded size"))
        cases.append(("a blob after the blob", pad + blob, "not a patch"))
        for k, (what, rest, why) in enumerate(cases):
            rc, text = node.boot_once(work, image(img, blob, rest), "badpatch-%s-%d" % (target, k))
            node.check(rc not in (None, 0) and why in text,
                       "%s: %s is refused at boot (%r; status %s)" % (target, what, why, rc))
finally:
    work.cleanup()
node.finish()
