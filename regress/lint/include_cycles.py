#!/usr/bin/env python3
"""Report #include "..." cycles among the C files under a directory, and
includes against the order of its stages.

Usage: include_cycles.py [--known FILE] [--stages A,B,...] [ROOT]
       (ROOT defaults to agent/)

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

--stages A,B,... names directories under ROOT in the order data flows
through them (the agent: common,collect,alert,deliver,export).  A file in
one of them may include headers of its own stage and of earlier ones; an
include of a later stage's header is reported as a stage violation and
fails (collect/ must not know alert/ or export/).  Files outside the listed
directories (main.c, runbooks/) are not constrained.
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


def stage_violations(graph, stages):
    """Edges from a stage to a later one, as (src, dst) module pairs."""
    rank = {s: i for i, s in enumerate(stages)}

    def stage_of(mod):
        head = mod.split(os.sep, 1)[0]
        return head if os.sep in mod and head in rank else None

    out = []
    for src in sorted(graph):
        s = stage_of(src)
        if s is None:
            continue
        for dst in sorted(graph[src]):
            d = stage_of(dst)
            if d is not None and rank[d] > rank[s]:
                out.append((src, dst))
    return out


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
    stages = []
    while args[:1] in (["--known"], ["--stages"]) and len(args) >= 2:
        if args[0] == "--known":
            known = read_known(args[1])
        else:
            stages = [s for s in args[1].split(",") if s]
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
    for src, dst in stage_violations(graph, stages):
        failed = True
        print(f"stage order: {src} includes {dst}, a later stage "
              f"({' < '.join(stages)})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
