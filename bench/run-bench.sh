#!/usr/bin/env bash
# bench/run-bench.sh: what `make bench` runs.  Runs every benchmark in bench/
# (each prints its own figures) and keeps a copy of what each printed under
# bench/results/ (not versioned).  Benchmarks never pass or fail on time.
#
#   BENCH_ONLY=name   run only bench/name.sh
set -uo pipefail
cd "$(dirname "$0")"
mkdir -p results
rc=0
for b in *.sh; do
	[ "$b" = run-bench.sh ] && continue
	[ -n "${BENCH_ONLY:-}" ] && [ "${b%.sh}" != "$BENCH_ONLY" ] && continue
	printf '\n==== bench/%s ====\n' "$b"
	bash "$b" 2>&1 | tee "results/${b%.sh}-$(date +%Y%m%d-%H%M%S).txt"
	[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
done
exit $rc
