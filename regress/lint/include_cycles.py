#!/usr/bin/env python3
"""Report #include "..." cycles among the C files under a directory.

Usage: include_cycles.py [--known FILE] [ROOT]   (ROOT defaults to agent/)

A quoted include is resolved the way the compiler sees it with -IROOT:
first beside the including file, then under ROOT. System includes (<...>)
and quoted names that resolve to no file under ROOT (generated headers)
are left out. A file's node is its module (path without .c/.h), so
cli.c -> modes.h and modes.c -> cli.h is the cycle cli -> modes -> cli.
Exits 1 and prints each cycle when there is one, 0 otherwise.

--known FILE lists cycles still waiting to be broken, one a line (the
modules of the cycle, sorted, separated by spaces; # starts a comment).
Those are reported but pass; a listed cycle that no longer exists fails,
so the list only shrinks.
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)


def module(root, path):
    rel = os.path.relpath(path, root)
    return os.path.splitext(rel)[0]


def build_graph(root):
    graph = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in sorted(files):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(dirpath, name)
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            src = module(root, path)
            edges = graph.setdefault(src, set())
            for inc in INCLUDE.findall(text):
                for base in (dirpath, root):
                    target = os.path.normpath(os.path.join(base, inc))
                    if os.path.isfile(target):
                        dst = module(root, target)
                        if dst != src:
                            edges.add(dst)
                        break
    return graph


def find_cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def cycle_path(graph, comp):
    """One concrete loop through the component, for the message."""
    members = set(comp)
    start = comp[0]
    prev = {start: None}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v]):
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w in members and w not in prev:
                prev[w] = v
                queue.append(w)
    return comp


def read_known(path):
    known = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if line:
                known.add(" ".join(sorted(line)))
    return known


def main():
    args = sys.argv[1:]
    known = set()
    if args[:1] == ["--known"] and len(args) >= 2:
        known = read_known(args[1])
        args = args[2:]
    root = args[0] if args else "agent"
    if not os.path.isdir(root):
        print(f"include_cycles: {root}: not a directory", file=sys.stderr)
        return 2
    graph = build_graph(root)
    cycles = find_cycles(graph)
    failed = False
    for comp in cycles:
        listed = " ".join(comp) in known
        failed = failed or not listed
        print(("known " if listed else "") + "include cycle: " +
              " -> ".join(cycle_path(graph, comp)))
    for gone in sorted(known - {" ".join(c) for c in cycles}):
        failed = True
        print(f"known cycle {gone} is gone: remove it from the list")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
