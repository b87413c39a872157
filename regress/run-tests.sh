#!/usr/bin/env bash
# Runs every test layer and ends with one summary line:
#   unit (cmocka, ASan/UBSan and valgrind), fuzzing (libFuzzer corpora plus
#   20 s per harness), pg_regress, pgTAP (pg_prove),
#   integration scripts (real clusters on loopback).
# Exits non-zero when anything failed.
set -uo pipefail

ORG_SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
cd "$ORG_SRC_DIR"
# shellcheck source=lib/cluster.sh
. regress/lib/cluster.sh

passed=0
failed=0
failures=()

count() { # count LAYER NAME PASSED FAILED
	passed=$((passed + $3))
	failed=$((failed + $4))
	if [ "$4" -gt 0 ]; then failures+=("$1: $2"); fi
	printf '%-12s %-40s %s passed, %s failed\n' "$1" "$2" "$3" "$4"
}

section() { printf '\n==== %s ====\n' "$*"; }

org_harness_init
export ORG_STAGE_DIR="$ORG_TMP/install"

# ---- unit tests (pure C parts of the extension and the agent) ----
section "unit tests (cmocka)"
if [ -f regress/unit/Makefile ]; then
	log="$ORG_TMP/unit.log"
	make -s -C regress/unit test >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(grep -o '\[  PASSED  \] [0-9]* test' "$log" | awk '{s+=$4} END {print s+0}')
	f=$(grep -o '\[  FAILED  \] [0-9]* test' "$log" | awk '{s+=$4} END {print s+0}')
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	count unit regress/unit "$p" "$f"
fi
# each subdirectory with its own Makefile (e.g. regress/unit/agent) is a suite too
for d in regress/unit/*/; do
	[ -f "$d/Makefile" ] || continue
	log="$ORG_TMP/unit-$(basename "$d").log"
	make -s -C "$d" test >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(grep -o '\[  PASSED  \] [0-9]* test' "$log" | awk '{s+=$4} END {print s+0}')
	f=$(grep -o '\[  FAILED  \] [0-9]* test' "$log" | awk '{s+=$4} END {print s+0}')
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	count unit "${d%/}" "$p" "$f"
done

# ---- fuzzing: each libFuzzer harness over its corpus, then 20 s of fuzzing ----
section "fuzzing (libFuzzer, ASan+UBSan)"
if [ -f regress/fuzz/Makefile ]; then
	log="$ORG_TMP/fuzz-build.log"
	if make -s -C regress/fuzz -j2 build >"$log" 2>&1; then
		for h in regress/fuzz/fuzz_*.c; do
			t=$(basename "$h" .c)
			t=${t#fuzz_}
			log="$ORG_TMP/fuzz-$t.log"
			make -s -C regress/fuzz "run-$t" FUZZ_SECONDS="${ORG_FUZZ_TEST_SECONDS:-20}" >"$log" 2>&1
			rc=$?
			grep -E '^== fuzz|^Done|stat::number_of_executed_units' "$log"
			if [ $rc -eq 0 ]; then
				count fuzz "$t" 1 0
			else
				tail -n 40 "$log"
				count fuzz "$t" 0 1
			fi
		done
	else
		cat "$log"
		count fuzz "regress/fuzz (build)" 0 1
	fi
fi

# ---- pg_regress ----
section "pg_regress"
org_cluster_start regress
regress_tests=$(cd regress/sql && ls *.sql 2>/dev/null | sed 's/\.sql$//' | sort)
if [ -n "$regress_tests" ]; then
	outdir="$ORG_TMP/pg_regress"
	mkdir -p "$outdir"
	PGUSER=postgres "$ORG_SYS_LIBDIR/pgxs/src/test/regress/pg_regress" \
		--inputdir=regress --outputdir="$outdir" --bindir="$ORG_SYS_BINDIR" \
		--host="${ORG_SOCK[regress]}" --port="${ORG_PORT[regress]}" \
		--dbname=org_regress $regress_tests >"$outdir/out.log" 2>&1
	rc=$?
	cat "$outdir/out.log"
	total=$(echo "$regress_tests" | wc -w)
	f=$(grep -c ' FAILED' "$outdir/out.log")
	if [ $rc -ne 0 ]; then
		[ -f "$outdir/regression.diffs" ] && cat "$outdir/regression.diffs"
		[ "$f" -eq 0 ] && f=$total
	fi
	count pg_regress "regress/sql" $((total - f)) "$f"
fi
org_cluster_stop regress

# ---- pgTAP ----
# regress/pgtap/*.sql run on a default cluster; each subdirectory runs on a
# cluster of its own configured by its cluster.conf.
run_pgtap_dir() {
	local dir=$1 cluster=$2 conf="" f db out tests fails rc
	[ -f "$dir/cluster.conf" ] && conf=$(cat "$dir/cluster.conf")
	org_cluster_start "$cluster" "$conf"
	for f in "$dir"/*.sql; do
		[ -f "$f" ] || continue
		db="tap_$(basename "$f" .sql)"
		org_psql "$cluster" -d postgres -c "CREATE DATABASE $db" >/dev/null
		out="$ORG_TMP/$cluster-$(basename "$f").tap"
		ORG_CONN="$(org_conn "$cluster")" pg_prove --ext .sql -h "${ORG_SOCK[$cluster]}" \
			-p "${ORG_PORT[$cluster]}" -U postgres -d "$db" "$f" >"$out" 2>&1
		rc=$?
		cat "$out"
		tests=$(sed -n 's/.*Tests=\([0-9]*\).*/\1/p' "$out" | tail -1)
		tests=${tests:-0}
		fails=$(sed -n 's/.*Failed \([0-9]*\)\/[0-9]* subtests.*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
		if [ $rc -ne 0 ] && [ "$fails" -eq 0 ]; then fails=1; fi
		count pgtap "$f" $((tests - fails > 0 ? tests - fails : 0)) "$fails"
	done
	org_cluster_stop "$cluster"
}

section "pgTAP"
export ORG_PGTAP_RUN=1
run_pgtap_dir regress/pgtap tap_default
for d in regress/pgtap/*/; do
	[ -d "$d" ] || continue
	run_pgtap_dir "${d%/}" "tap_$(basename "$d")"
done

# ---- integration ----
section "integration"
for t in regress/integration/*.sh; do
	[ -f "$t" ] || continue
	log="$ORG_TMP/integration-$(basename "$t").log"
	bash "$t" >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	count integration "$t" "$p" "$f"
done

section "summary"
for x in "${failures[@]}"; do echo "FAILED: $x"; done
echo "make test: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
