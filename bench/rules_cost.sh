#!/usr/bin/env bash
# bench/rules_cost.sh: instructions (callgrind Ir) one node's poll costs in
# facts and rule evaluation, with a node of real size (1,000 tables in
# autovacuum_lag, 1,000 model aggregates, 3 alerts firing), alone and
# beside 499 other nodes with 20 firing alerts each; with the fact gate
# and, beside it, building every fact as before the gate.  The driver is
# regress/unit/agent/bench_rules_cost.c (synthetic snapshots, no I/O).
# Instruction counts do not swing with the machine's load as timings do.
set -uo pipefail
cd "$(dirname "$0")/.."
printf '%-7s %-22s %s\n' nodes facts "Ir per poll (facts + rules + freeing the facts)"
for nodes in 1 500; do
	for variant in "" _nogate; do
		out=$(make -s -C regress/unit/agent callgrind-rules-cost BENCH_NODES=$nodes RULES_COST_VARIANT=$variant 2>&1)
		total=$(sed -n 's/^ *\([0-9,]*\) (100.0%) *PROGRAM TOTALS.*/\1/p' <<<"$out")
		printf '%-7s %-22s %s\n' "$nodes" "$([ -z "$variant" ] && echo "gated (now)" || echo "every fact (before)")" "${total:-?}"
	done
done
