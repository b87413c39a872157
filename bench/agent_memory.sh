#!/usr/bin/env bash
# bench/agent_memory.sh: what the agent keeps per node between polls, for a
# node of 1,000 Odoo model groups after 40 polls 10 s apart: the facts'
# memory (slow-call counters and p95 baselines), the status page's model
# state and the snapshot merge's kept models and tables, in heap bytes
# (mallinfo2, glibc's per-thread cache off so that freed blocks do not
# count as held), with instructions per poll (callgrind Ir) of the status
# page beside it as it was before its model state was made dense (git:
# STATUS_MEM_BEFORE in regress/unit/agent/Makefile) and of the merge beside
# it as it was before its records (MERGE_BEFORE).  Drivers:
# regress/unit/agent/bench_facts_mem.c, bench_status_mem.c and
# bench_merge_mem.c (synthetic snapshots, no I/O).
set -uo pipefail
cd "$(dirname "$0")/.."
echo "== facts memory"
make -s -C regress/unit/agent bench-facts-mem 2>&1 | grep -v '^GLIBC_TUNABLES'
echo "== status page model state (rotating: every model grows within the window; steady: the same 270 grow every poll)"
make -s -C regress/unit/agent bench-status-mem 2>&1
echo "== snapshot merge (1,000 models, 1,068 tables; a delta of 270 models and 30 tables a poll)"
make -s -C regress/unit/agent bench-merge-mem 2>&1 | grep -v '^GLIBC_TUNABLES'
