#!/usr/bin/env bash
# bench/snapshot_delta.sh: the steady-state delta snapshot beside the full
# one, with 5,000 statements tracked and 100 changed since the last poll.
#
#  1. A running server: bytes and wall time of snapshot(cursor, generation)
#     (the delta) and snapshot(cursor) (full), same cursor (no ring
#     entries), 20 rounds of "100 statements run again, then both", and
#     snapshot(0) (full, rings full of nothing here) for comparison; and
#     the same delta and full snapshot without statements
#     (snapshot(cursor, generation, false), what the agent asks for).
#  2. Instruction counts (callgrind Ir, inclusive, org_snapshot only) on a
#     single-user backend (postgres --single): the same 5,000 statements,
#     a full snapshot, 100 statements again, a delta, a full again.
#     Timings on shared machines swing by +-50 %; Ir does not.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
cd "$ORG_SRC_DIR"
# shellcheck source=../regress/lib/cluster.sh
. regress/lib/cluster.sh

org_harness_init
org_cluster_start bench "odoo_retail_guard.max_queries = 6000
autovacuum = off"
export PGHOST="${ORG_SOCK[bench]}" PGPORT="${ORG_PORT[bench]}" PGUSER=postgres PGDATABASE=postgres
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

q -c "CREATE EXTENSION odoo_retail_guard"
q <<'SQL'
DO $$
BEGIN
	FOR t IN 1..100 LOOP
		EXECUTE format('CREATE TABLE stock_bench_%s (%s)', t,
			(SELECT string_agg('c' || c || ' int', ', ') FROM generate_series(1, 50) c));
	END LOOP;
END
$$;
-- statement T*50+C: one distinct shape per table and column
CREATE FUNCTION run_shapes(first int, count int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN first..first + count - 1 LOOP
		EXECUTE format('SELECT c%s FROM stock_bench_%s WHERE c%s = 42',
			(i % 50) + 1, ((i / 50) % 100) + 1, (i % 50) + 1);
	END LOOP;
END
$$;
SQL
fill="SET odoo_retail_guard.track = 'all'; SET application_name = 'odoo-1'; SELECT run_shapes(0, 5000);"
q -c "$fill" >/dev/null
echo "tracked statements: $(q -c "SELECT used FROM odoo_retail_guard.memory WHERE area = 'queries'")"

q <<'SQL'
\pset footer off
\pset tuples_only on
-- one poll: 100 statements run again, then the delta and the full one at the same cursor
CREATE FUNCTION bench_round(r int, OUT delta_ms float8, OUT delta_bytes int, OUT full_ms float8,
		OUT full_bytes int, OUT zero_ms float8, OUT zero_bytes int,
		OUT lean_delta_ms float8, OUT lean_delta_bytes int, OUT lean_full_ms float8, OUT lean_full_bytes int)
LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz;
	cur bigint := 1000000000;	-- past every ring entry: no ring entries in either
	g bigint;
BEGIN
	SET LOCAL odoo_retail_guard.track = 'all';
	PERFORM run_shapes((r * 100) % 5000, 100);
	SET LOCAL odoo_retail_guard.track = 'none';
	g := odoo_retail_guard.snapshot_generation() - 1;
	t0 := clock_timestamp();
	delta_bytes := octet_length(odoo_retail_guard.snapshot(cur, g));
	delta_ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
	-- the same changes (after g), without statements
	t0 := clock_timestamp();
	lean_delta_bytes := octet_length(odoo_retail_guard.snapshot(cur, g, false));
	lean_delta_ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
	t0 := clock_timestamp();
	lean_full_bytes := octet_length(odoo_retail_guard.snapshot(cur, 0, false));
	lean_full_ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
	t0 := clock_timestamp();
	full_bytes := octet_length(odoo_retail_guard.snapshot(cur));
	full_ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
	t0 := clock_timestamp();
	zero_bytes := octet_length(odoo_retail_guard.snapshot(0));
	zero_ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
END
$$;
SET odoo_retail_guard.track = 'none';
SELECT odoo_retail_guard.snapshot(0, 0) IS NOT NULL;
WITH runs AS (SELECT b.* FROM generate_series(1, 20) r, bench_round(r) b)
SELECT format(E'running server, 20 polls, 100 of 5,000 statements changed before each:\n'
	'  delta  snapshot(cursor, generation): %s bytes (%s %% of full), mean %s ms, min %s ms\n'
	'  full   snapshot(cursor):             %s bytes, mean %s ms, min %s ms\n'
	'  full   snapshot(0):                  %s bytes, mean %s ms, min %s ms\n'
	'  without statements (the agent''s form, snapshot(cursor, generation, false)):\n'
	'  delta  snapshot(cursor, g, false):   %s bytes (%s %% of full), mean %s ms, min %s ms\n'
	'  full   snapshot(cursor, 0, false):   %s bytes, mean %s ms, min %s ms',
	round(avg(delta_bytes)), round(100.0 * avg(delta_bytes) / avg(full_bytes), 2),
	round(avg(delta_ms)::numeric, 3), round(min(delta_ms)::numeric, 3),
	round(avg(full_bytes)), round(avg(full_ms)::numeric, 3), round(min(full_ms)::numeric, 3),
	round(avg(zero_bytes)), round(avg(zero_ms)::numeric, 3), round(min(zero_ms)::numeric, 3),
	round(avg(lean_delta_bytes)), round(100.0 * avg(lean_delta_bytes) / avg(full_bytes), 2),
	round(avg(lean_delta_ms)::numeric, 3), round(min(lean_delta_ms)::numeric, 3),
	round(avg(lean_full_bytes)), round(avg(lean_full_ms)::numeric, 3), round(min(lean_full_ms)::numeric, 3))
FROM runs;
SQL
echo "  (targets: delta <= 5 % of full bytes and < 1 ms; snapshot(0) with 5,000 statements < 5 ms)"

# ---- instruction counts on a single-user backend ----
org_cluster_stop bench
cg="$ORG_TMP/callgrind"
mkdir -p "$cg"
chown "$(org_owner_name)" "$cg" 2>/dev/null || true
org_as_owner valgrind --tool=callgrind --collect-atstart=no --toggle-collect=org_snapshot \
	--dump-after=org_snapshot --callgrind-out-file="$cg/cg.out" \
	"$ORG_BINDIR/postgres" --single -D "${ORG_DATA[bench]}" -c odoo_retail_guard.max_queries=6000 \
	postgres >"$cg/single.log" 2>&1 <<SQL
$fill
SET odoo_retail_guard.track = 'none';
SELECT octet_length(odoo_retail_guard.snapshot(0, 0));
SET odoo_retail_guard.track = 'all';
SELECT run_shapes(0, 100);
SET odoo_retail_guard.track = 'none';
SELECT octet_length(odoo_retail_guard.snapshot(1000000000, odoo_retail_guard.snapshot_generation() - 1));
SELECT octet_length(odoo_retail_guard.snapshot(1000000000));
SET odoo_retail_guard.track = 'all';
SELECT run_shapes(100, 100);
SET odoo_retail_guard.track = 'none';
SELECT octet_length(odoo_retail_guard.snapshot(1000000000, odoo_retail_guard.snapshot_generation() - 1, false));
SELECT octet_length(odoo_retail_guard.snapshot(1000000000, 0, false));
SQL
ir() { sed -n 's/^summary: *\([0-9]*\).*/\1/p;s/^totals: *\([0-9]*\).*/\1/p' "$1" | tail -1; }
mapfile -t dumps < <(ls "$cg"/cg.out.* 2>/dev/null | sort -t. -k3 -n)
if [ "${#dumps[@]}" -ge 3 ]; then
	full_ir=$(ir "${dumps[0]}") delta_ir=$(ir "${dumps[1]}") full2_ir=$(ir "${dumps[2]}")
	echo "single-user backend (callgrind, instructions inside org_snapshot):"
	echo "  full  snapshot(0, 0):                 $full_ir Ir"
	echo "  delta snapshot(cursor, generation):   $delta_ir Ir ($(echo "scale=2; 100 * $delta_ir / $full2_ir" | bc) % of full)"
	echo "  full  snapshot(cursor):               $full2_ir Ir"
	if [ "${#dumps[@]}" -ge 5 ]; then
		lean_delta_ir=$(ir "${dumps[3]}") lean_full_ir=$(ir "${dumps[4]}")
		echo "  delta snapshot(cursor, g, false):     $lean_delta_ir Ir ($(echo "scale=2; 100 * $lean_delta_ir / $full2_ir" | bc) % of full)"
		echo "  full  snapshot(cursor, 0, false):     $lean_full_ir Ir ($(echo "scale=2; 100 * $lean_full_ir / $full2_ir" | bc) % of full)"
	fi
	top="$ORG_TMP/top.txt"
	callgrind_annotate --threshold=100 "${dumps[2]}" 2>/dev/null |
		grep -E '(odoo_retail_guard|protobuf-c|libc)\.so|bin/postgres\]' |
		grep -vE 'libc_start|below main|PostgresSingleUserMain|:main |ExecutorRun|0x0' | head -12 |
		sed 's/ \[.*//' >"$top"
	echo "  hot spots of the full snapshot (self Ir, top 12):"
	sed 's/^/    /' "$top"
	callgrind_annotate --threshold=100 "${dumps[1]}" 2>/dev/null |
		grep -E '(odoo_retail_guard|protobuf-c|libc)\.so|bin/postgres\]' |
		grep -vE 'libc_start|below main|PostgresSingleUserMain|:main |ExecutorRun|0x0' | head -12 |
		sed 's/ \[.*//' >"$top"
	echo "  hot spots of the delta (self Ir, top 12):"
	sed 's/^/    /' "$top"
else
	echo "callgrind: no per-call dumps (see $cg/single.log)"
	tail -n 20 "$cg/single.log"
fi
