#!/usr/bin/python3
"""tests/tosca_parser.py — OpenStack tosca-parser's verdict on TOSCA files (1.0 and 1.2, the
versions it reads), for the round-trip test (tests/topology_examples.sh).

Usage: tosca_parser.py DEFINITIONS FILE...
DEFINITIONS is tosca-parser's normative type file (TOSCA_definition_1_0.yaml), which Debian's
python3-tosca-parser omits: the package is used from a temporary copy that has it. Prints
"FILE: ok" or "FILE: invalid: REASON" for each FILE; exits 0 when every one is valid, 1 when
one is not, 77 when tosca-parser cannot be imported (saying why). Reads no network: a file
that imports a URL is the caller's to avoid.
"""
import os
import shutil
import sys
import tempfile


def main():
    if len(sys.argv) < 3:
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
        from toscaparser.tosca_template import ToscaTemplate
        bad = 0
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
