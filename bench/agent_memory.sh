#!/usr/bin/env bash
# bench/agent_memory.sh: what the agent keeps per node between polls, for a
# node of 1,000 Odoo model groups after 40 polls 10 s apart: the facts'
# memory (slow-call counters and p95 baselines) and the status page's model
# state, in heap bytes (mallinfo2, glibc's per-thread cache off so that
# freed blocks do not count as held), and the status page's instructions
# per poll (callgrind Ir), beside the status page as it was before its
# model state was made dense (git: STATUS_MEM_BEFORE in
# regress/unit/agent/Makefile).  Drivers: regress/unit/agent/
# bench_facts_mem.c and bench_status_mem.c (synthetic snapshots, no I/O).
set -uo pipefail
cd "$(dirname "$0")/.."
echo "== facts memory"
make -s -C regress/unit/agent bench-facts-mem 2>&1 | grep -v '^GLIBC_TUNABLES'
echo "== status page model state (rotating: every model grows within the window; steady: the same 270 grow every poll)"
make -s -C regress/unit/agent bench-status-mem 2>&1
