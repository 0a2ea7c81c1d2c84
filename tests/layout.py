#!/usr/bin/env python3
"""layout.py — the structure of the house, checked against ARCHITECTURE.md.

ARCHITECTURE.md declares the parts (a folder or file each), where they run and which other
parts each may reach. This test reads every product source file (tests/ and bench/ are not
product code) and fails when:
  - an #include "..." names no file of the tree, or reaches a part the including part may
    not reach (guest code never includes host code; host code reaches guest code only
    through contract/ and common/);
  - two files include each other, directly or through others (an include loop);
  - two files call each other, directly or through others (a call loop): a call is a
    reference to a function or global variable that another file of a reachable part
    defines;
  - a product file has more than MAX_LINES lines.
It prints the number of #include edges that cross parts, so a change of structure shows.

Usage: tests/layout.py [ROOT]   (ROOT: the source tree, default: this file's tree)
"""
import os
import re
import subprocess
import sys

MAX_LINES = 800
SOURCE = re.compile(r"\.(c|h)$")


def read_parts(root):
    """The table of ARCHITECTURE.md between its layout markers: part, paths, may reach."""
    text = open(os.path.join(root, "ARCHITECTURE.md"), encoding="utf-8").read()
    m = re.search(r"<!-- layout -->(.*?)<!-- /layout -->", text, re.S)
    if not m:
        sys.exit("ARCHITECTURE.md: no <!-- layout --> table")
    parts = []
    for line in m.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or cells[0] in ("part", "") or set(cells[0]) <= set("-:"):
            continue
        name = cells[0].strip("`")
        paths = [p.strip("` ") for p in cells[1].split(",") if p.strip("` ")]
        reach = [r.strip("` ") for r in cells[3].split(",") if r.strip("` ") not in ("", "-")]
        parts.append((name, paths, reach))
    return parts


def read_upcalls(root):
    """Names a lower file calls and a higher one defines by contract (ARCHITECTURE.md's
    `<!-- upcalls: NAME ... -->`): not counted as calls up."""
    text = open(os.path.join(root, "ARCHITECTURE.md"), encoding="utf-8").read()
    m = re.search(r"<!-- upcalls:([^>]*)-->", text)
    return set(m.group(1).split()) if m else set()


def part_of(parts, rel):
    best = None
    for name, paths, _ in parts:
        for p in paths:
            if rel == p or (p.endswith("/") and rel.startswith(p)):
                if best is None or len(p) > best[1]:
                    best = (name, len(p))
    return best[0] if best else None


def product_files(root):
    out = subprocess.run(["git", "-C", root, "ls-files", "--cached", "--others",
                          "--exclude-standard"], capture_output=True, text=True, check=True)
    return sorted(f for f in out.stdout.split("\n") if SOURCE.search(f)
                  and not f.startswith(("tests/", "bench/")) and os.path.exists(os.path.join(root, f)))


def strip_c(text):
    """Comments, strings and character constants blanked (line breaks kept)."""
    pat = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
    return pat.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)) if m.group(0)[0] == "/"
                   else '""', text)


DEF_FUNC = re.compile(r"^(?!static\b)(?!typedef\b)(?:[A-Za-z_][\w\s\*]*?[\s\*])?(\w+)\s*\([^;{]*?\)\s*(?:__attribute__\s*\(\(.*?\)\)\s*)?\{",
                      re.M | re.S)
DEF_VAR = re.compile(r"^(?!static\b)(?!extern\b)(?!typedef\b)(?:const\s+)?(?:struct\s+)?\w+[\s\*]+(?:const\s+)?(\w+)\s*(?:\[[^\]]*\]\s*)*(?:=|;)",
                     re.M)
USE = re.compile(r"\b([A-Za-z_]\w*)\b")
KEYWORDS = {"if", "for", "while", "switch", "return", "sizeof", "case", "else", "do", "int",
            "void", "char", "struct", "const", "static", "unsigned", "long"}


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.path.dirname(__file__), ".."))
    parts = read_parts(root)
    upcalls = read_upcalls(root)
    reach = {name: set(r) | {name} for name, _, r in parts}
    files = product_files(root)
    fileset = set(files)
    bad = []

    part = {}
    for f in files:
        p = part_of(parts, f)
        if p is None:
            bad.append(f"{f}: in no part of ARCHITECTURE.md")
        part[f] = p

    # Includes: resolved as the compilers see them: the file's own folder, then the tree's
    # root (-I.), then guest/libos for guest code (the builder's -I).
    inc_re = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
    inc = {f: set() for f in files}
    crossing = 0
    for f in files:
        text = open(os.path.join(root, f), encoding="utf-8", errors="replace").read()
        n = text.count("\n")
        if n > MAX_LINES:
            bad.append(f"{f}: {n} lines, more than {MAX_LINES}: split it along its concerns")
        for m in inc_re.finditer(text):
            name = m.group(1)
            line = text.count("\n", 0, m.start()) + 1
            cands = [os.path.normpath(os.path.join(os.path.dirname(f), name)), os.path.normpath(name)]
            if part[f] == "guest":
                cands.append(os.path.normpath(os.path.join("guest/libos", name)))
            target = next((c for c in cands if c in fileset), None)
            if target is None:
                if not os.path.exists(os.path.join(root, cands[0])) and not os.path.exists(
                        os.path.join(root, cands[1])):
                    bad.append(f"{f}:{line}: #include \"{name}\" names no file of the tree")
                continue
            inc[f].add(target)
            if part[target] != part[f]:
                crossing += 1
                if part[f] and part[target] and part[target] not in reach[part[f]]:
                    bad.append(f"{f}:{line}: {part[f]} may not include {target} ({part[target]}): "
                               f"{part[f]} reaches only {', '.join(sorted(reach[part[f]] - {part[f]}))}")

    # Definitions: non-static functions and global variables of the .c files.
    defs = {}
    uses = {}
    for f in files:
        text = strip_c(open(os.path.join(root, f), encoding="utf-8", errors="replace").read())
        if f.endswith(".c"):
            for m in DEF_FUNC.finditer(text):
                if m.group(1) not in KEYWORDS:
                    defs.setdefault(m.group(1), set()).add(f)
            for m in DEF_VAR.finditer(text):
                defs.setdefault(m.group(1), set()).add(f)
        uses[f] = set(USE.findall(text))
    calls = {f: set() for f in files}
    for f in files:
        if not f.endswith(".c"):
            continue
        for name in uses[f] - upcalls:
            if f in defs.get(name, ()) or name.startswith("__"):
                continue  # its own definition (a target binding defines what the other does)
            for g in defs.get(name, ()):
                if part[g] in reach.get(part[f], ()):
                    calls[f].add(g)

    for what, graph in (("include", inc), ("call", calls)):
        for cycle in cycles(graph):
            bad.append(f"{what} loop: {' -> '.join(cycle + [cycle[0]])}")

    print(f"layout: {len(files)} product files in {len(parts)} parts; "
          f"{crossing} #include edges cross parts")
    for b in bad:
        print("layout: " + b)
    print(f"layout: {'1 failed' if bad else '0 failed'}")
    return 1 if bad else 0


def cycles(graph):
    """The strongly connected components with more than one file (Tarjan), each as a list."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


if __name__ == "__main__":
    sys.exit(main())
