#!/usr/bin/env bash
# Runs every benchmark in bench/ (bench_*.sh). Benchmarks print figures and
# never fail on time; a non-zero exit means a benchmark could not run.
set -uo pipefail
cd "$(dirname "$0")"
rc=0
for b in bench_*.sh; do
	[ -f "$b" ] || continue
	printf '\n==== %s ====\n' "$b"
	bash "$b" || rc=1
done
exit $rc
