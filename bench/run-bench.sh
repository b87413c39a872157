#!/usr/bin/env bash
# Runs every benchmark in bench/ (each prints its own figures).  Benchmarks
# report numbers; they never pass or fail on time.
set -uo pipefail
cd "$(dirname "$0")"
rc=0
for b in *.sh; do
	[ "$b" = run-bench.sh ] && continue
	printf '\n==== bench/%s ====\n' "$b"
	bash "$b" || rc=1
done
exit $rc
