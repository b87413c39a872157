#!/usr/bin/env bash
# bench/run-bench.sh: what `make bench` runs.  Benchmarks print figures and
# write them under bench/results/ (not versioned); they never pass or fail
# on time.
#
#   overhead.sh   TPS with and without odoo_retail_guard / pg_stat_statements
#                 (pgbench select-only and TPC-B-like; about 12 minutes;
#                 BENCH_ROUNDS, BENCH_SECONDS, ... see the script)
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

echo "==== bench: overhead on the query path (bench/overhead.sh)"
bash "$BENCH_DIR/overhead.sh"
