#!/usr/bin/env bash
# bench/run-bench.sh: what `make bench` runs.  Benchmarks print figures and
# write them under bench/results/ (not versioned); they never pass or fail
# on time.
#
#   snapshot_throttle.sh  snapshot() time and size with 5,000 statements and
#                         full rings; connection rate (pgbench -C) with and
#                         without throttle rules (about a minute)
#   agent_bench.sh        orguard-agent RSS and CPU per poll at 1, 50 and 500
#                         nodes, lock-wait-to-alert latency, beside
#                         prometheus-postgres-exporter (about four minutes)
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

echo "==== bench: snapshot and connection throttle (bench/snapshot_throttle.sh)"
mkdir -p "$BENCH_DIR/results"
bash "$BENCH_DIR/snapshot_throttle.sh" | tee "$BENCH_DIR/results/snapshot_throttle.txt"

echo "==== bench: orguard-agent (bench/agent_bench.sh)"
bash "$BENCH_DIR/agent_bench.sh" | tee "$BENCH_DIR/results/agent_bench.txt"
