#!/usr/bin/env bash
# bench/snapshot_throttle.sh: snapshot() time and size with 5,000 statements
# tracked and every ring full; connection rate (pgbench -C) without and with
# active throttle rules.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
cd "$ORG_SRC_DIR"
# shellcheck source=../regress/lib/cluster.sh
. regress/lib/cluster.sh

org_harness_init
org_cluster_start bench "max_connections = 200
odoo_retail_guard.max_queries = 6000"
export PGHOST="${ORG_SOCK[bench]}" PGPORT="${ORG_PORT[bench]}" PGUSER=postgres PGDATABASE=postgres
q() { psql -X -q -At "$@"; }

q -c "CREATE EXTENSION odoo_retail_guard" -c "CREATE ROLE odoo LOGIN"

echo "filling: 5,000 distinct statements, full slow-sample, throttle and destructive rings"
q <<'SQL'
DO $$
BEGIN
	FOR t IN 1..100 LOOP
		EXECUTE format('CREATE TABLE stock_bench_%s (%s)', t,
			(SELECT string_agg('c' || c || ' int', ', ') FROM generate_series(1, 50) c));
	END LOOP;
END
$$;
SQL
q <<'SQL'
SET odoo_retail_guard.track = 'all';
SET odoo_retail_guard.slow_query_ms = 0;
SET application_name = 'odoo-1';
DO $$
BEGIN
	FOR t IN 1..100 LOOP
		FOR c IN 1..50 LOOP
			EXECUTE format('SELECT c%s FROM stock_bench_%s WHERE c%s = 42', c, t, c);
		END LOOP;
	END LOOP;
END
$$;
SQL
q -c "CREATE TABLE sale_order_bench (id int)" \
	-c "DO \$\$ BEGIN FOR i IN 1..1000 LOOP TRUNCATE sale_order_bench; END LOOP; END \$\$"
q -c "SELECT odoo_retail_guard.throttle('bench_refuse', 0, '30 min', 'fill the event ring', application_name => 'odoo-refused*', database => current_database())" >/dev/null
seq 1 1000 | xargs -P 50 -I{} env PGAPPNAME=odoo-refused-{} psql -X -q -U odoo -c "SELECT 1" >/dev/null 2>&1
q -c "SELECT area, capacity, used FROM odoo_retail_guard.memory ORDER BY area" | sed 's/^/  /'

q <<'SQL'
\pset footer off
\pset tuples_only on
WITH runs AS (
	SELECT i, clock_timestamp() AS t0, octet_length(odoo_retail_guard.snapshot(0)) AS bytes,
		   clock_timestamp() AS t1
	FROM generate_series(1, 20) i
)
SELECT format('snapshot(0): %s runs, mean %s ms, min %s ms, max %s ms, %s bytes (%s kB)',
	count(*),
	round(avg(extract(epoch FROM t1 - t0) * 1000)::numeric, 2),
	round(min(extract(epoch FROM t1 - t0) * 1000)::numeric, 2),
	round(max(extract(epoch FROM t1 - t0) * 1000)::numeric, 2),
	max(bytes), round(max(bytes) / 1024.0, 1))
FROM runs;
SQL
q -c "SELECT format('snapshot(next_cursor) without ring entries: %s bytes', octet_length(odoo_retail_guard.snapshot(1000000)))"
echo "  (target: under 5 ms)"

# connection rate: a new connection per transaction
bench_script="$ORG_TMP/select1.sql"
echo "SELECT 1;" >"$bench_script"
rate() {
	PGAPPNAME=odoo-bench pgbench -n -C -c 4 -j 2 -T 5 -U odoo -f "$bench_script" postgres 2>/dev/null |
		sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}
q -c "SELECT odoo_retail_guard.release('bench_refuse')" >/dev/null
set_rules() {
	q -c "SELECT odoo_retail_guard.throttle('bench_' || i, 1000, '30 min', 'bench', application_name => 'nomatch-' || i || '-*', database => current_database()) FROM generate_series(1, 31) i" \
		-c "SELECT odoo_retail_guard.throttle('bench_match', 1000, '30 min', 'bench', application_name => 'odoo-bench*', database => current_database())" >/dev/null
}
release_rules() {
	q -c "SELECT odoo_retail_guard.release(name) FROM odoo_retail_guard.throttle_rules" >/dev/null
}
# alternate the two cases so that drift of the machine hits both alike
base_sum=0
ruled_sum=0
for round in 1 2 3; do
	release_rules
	b=$(rate)
	set_rules
	r=$(rate)
	echo "round $round: ${b} conn/s without rules, ${r} conn/s with 32 active rules (one matching)"
	base_sum=$(echo "$base_sum + $b" | bc)
	ruled_sum=$(echo "$ruled_sum + $r" | bc)
done
echo "connection rate (pgbench -C, 4 clients, 3 x 5 s each): ratio with/without rules: $(echo "scale=3; $ruled_sum / $base_sum" | bc)"
