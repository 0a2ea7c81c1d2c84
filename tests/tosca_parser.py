#!/usr/bin/python3
"""tests/tosca_parser.py — OpenStack tosca-parser's verdict on TOSCA files (1.0 and 1.2, the
versions it reads), for the round-trip test (tests/topology_examples.sh).

Usage: tosca_parser.py DEFINITIONS FILE...
       tosca_parser.py --compare DEFINITIONS ORIGINAL TRANSLATION...
DEFINITIONS is tosca-parser's normative type file (TOSCA_definition_1_0.yaml), which Debian's
python3-tosca-parser omits: the package is used from a temporary copy that has it. Prints
"FILE: ok" or "FILE: invalid: REASON" for each FILE; exits 0 when every one is valid, 1 when
one is not, 77 when tosca-parser cannot be imported (saying why). Reads no network: a file
that imports a URL is the caller's to avoid.
With --compare, for each pair: "TRANSLATION: same" when tosca-parser reads the same template
from both (inputs, outputs, node templates with their types, properties, interfaces and
operations, requirements and relationships, relationship templates, groups, policies;
unisec's translation may add `security_level` and name a normative node type tosca.nodes.X
unisec.nodes.X), else "TRANSLATION: differs: WHAT".
"""
import os
import shutil
import sys
import tempfile


def plain(v):
    """A value as comparable data: a function as [its name, its arguments]."""
    if hasattr(v, "args") and hasattr(v, "name") and type(v).__module__.endswith("functions"):
        return [type(v).__name__, plain(v.args)]
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v if v is None or isinstance(v, (int, float, bool)) else str(v)


def same_type(a, b):
    return a == b or (b.startswith("unisec.nodes.") and a.split(".")[-1] == b.split(".")[-1])


def view(tpl):
    """What tosca-parser reads from a template, for --compare."""
    tt = getattr(tpl, "topology_template", None)  # none in a file of definitions only
    nodes = {}
    for n in getattr(tpl, "nodetemplates", None) or []:
        props = {p.name: plain(p.value) for p in n.get_properties_objects()
                 if p.name != "security_level"}
        ops = sorted(repr((i.type, i.name, plain(i.implementation), plain(i.inputs)))
                     for i in n.interfaces)
        rels = sorted(repr((r.type, t.name)) for r, t in n.relationships.items())
        caps = {c.name: {p.name: plain(p.value) for p in c.get_properties_objects()}
                for c in n.get_capabilities_objects()}
        nodes[n.name] = (n.type, props, ops, rels, plain(n.requirements), caps)
    return {
        "inputs": sorted(repr((i.name, i.type, plain(i.default)))
                         for i in getattr(tpl, "inputs", None) or []),
        "outputs": sorted(repr((o.name, plain(o.value)))
                          for o in getattr(tpl, "outputs", None) or []),
        "nodes": nodes,
        "relationship templates": sorted(repr((r.name, r.type)) for r in
                                         getattr(tpl, "relationship_templates", None) or []),
        "groups": sorted(repr((g.name, g.type, sorted(g.members or [])))
                         for g in getattr(tt, "groups", None) or []),
        "policies": sorted(repr((p.name, p.type, plain(p.targets_list and
                                                      [t.name for t in p.targets_list])))
                           for p in getattr(tt, "policies", None) or []),
    }


def compare(a, b):
    """What differs between the views A (the original) and B (the translation), or None."""
    for key in a:
        if key != "nodes" and a[key] != b[key]:
            return f"{key}: {a[key]} then {b[key]}"
    if sorted(a["nodes"]) != sorted(b["nodes"]):
        return f"node templates {sorted(a['nodes'])} then {sorted(b['nodes'])}"
    for name, x in a["nodes"].items():
        y = b["nodes"][name]
        if not same_type(x[0], y[0]):
            return f"node {name}: type {x[0]} then {y[0]}"
        for i, what in enumerate(("properties", "interfaces", "relationships", "requirements",
                                  "capabilities"), start=1):
            if x[i] != y[i]:
                return f"node {name}: {what} {x[i]} then {y[i]}"
    return None


def main():
    cmp = len(sys.argv) > 1 and sys.argv[1] == "--compare"
    if cmp:
        del sys.argv[1]
    if len(sys.argv) < 3 or (cmp and len(sys.argv) % 2 != 0):
        print(__doc__.strip().splitlines()[3], file=sys.stderr)
        return 2
    try:
        import toscaparser
    except ImportError as e:
        print(f"SKIP: tosca-parser is not installed ({e}; Debian: python3-tosca-parser)")
        return 77
    src = os.path.dirname(toscaparser.__file__)
    with tempfile.TemporaryDirectory(prefix="tosca-parser.") as tmp:
        pkg = os.path.join(tmp, "toscaparser")
        shutil.copytree(src, pkg, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(sys.argv[1], os.path.join(pkg, "elements", "TOSCA_definition_1_0.yaml"))
        for name in list(sys.modules):
            if name == "toscaparser" or name.startswith("toscaparser."):
                del sys.modules[name]
        sys.path.insert(0, tmp)
        # tosca-parser unpacks each CSAR into a directory of its own that it never removes:
        # under this one, they go with it.
        tempfile.tempdir = tmp
        from toscaparser.tosca_template import ToscaTemplate
        bad = 0
        if cmp:
            files = sys.argv[2:]
            for orig, tr in zip(files[::2], files[1::2]):
                try:
                    why = compare(view(ToscaTemplate(orig)), view(ToscaTemplate(tr)))
                except Exception as e:
                    why = "unread: " + " ".join(str(e).split())
                bad |= why is not None
                print(f"{tr}: same" if why is None else f"{tr}: differs: {why[:600]}")
            return bad
        for f in sys.argv[2:]:
            try:
                ToscaTemplate(f)
                print(f"{f}: ok")
            except Exception as e:  # tosca-parser raises its own and Python's exceptions
                bad = 1
                why = " ".join(str(e).split())
                print(f"{f}: invalid: {why[:600]}")
    return bad


if __name__ == "__main__":
    sys.exit(main())
