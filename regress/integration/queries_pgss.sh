#!/usr/bin/env bash
# The query tracker beside pg_stat_statements and auto_explain.
#
#  - pg_stat_statements' buffer and WAL counters are the same with and
#    without odoo_retail_guard, whichever is loaded first (our ExecutorStart
#    allocates the shared totaltime instrumentation, theirs then reads it).
#  - An SQL-level PREPARE/EXECUTE is a top-level statement, as in
#    pg_stat_statements: same queryid, same calls, with track = top.
#  - The vacuum scan's own query never shows up as a tracked statement.
#
# Three clusters run the same workload: pg_stat_statements and auto_explain
# alone, and with odoo_retail_guard first and last in
# shared_preload_libraries.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

# The vacuum scan stays out of the database until the workload is done: a
# scan's transaction overlapping the UPDATE and DELETE holds back the xmin
# horizon, so that the DELETE's scan prunes fewer pages than without
# odoo_retail_guard and WAL records and buffer counts differ for a reason
# that is not ours to test here.
common="autovacuum = off
auto_explain.log_min_duration = 0
auto_explain.log_nested_statements = on
pg_stat_statements.track = top
odoo_retail_guard.slow_query_ms = 0
odoo_retail_guard.vacuum_sample_interval = 100
odoo_retail_guard.vacuum_databases = 'not_until_the_workload_is_done'"
org_cluster_start base "shared_preload_libraries = 'pg_stat_statements,auto_explain'
$common"
org_cluster_start first "shared_preload_libraries = 'odoo_retail_guard,pg_stat_statements,auto_explain'
$common"
org_cluster_start last "shared_preload_libraries = 'pg_stat_statements,auto_explain,odoo_retail_guard'
$common"

q() { org_psql "$1" -d postgres -Atc "$2"; }

# the workload, in one session; buffer figures are from a warm cache
workload() {
	org_psql "$1" -d postgres >/dev/null <<'SQL'
CREATE EXTENSION pg_stat_statements;
CREATE TABLE pos_order (id int PRIMARY KEY, amount numeric, note text);
SELECT pg_stat_statements_reset();
INSERT INTO pos_order SELECT g, g % 97, repeat('x', 80) FROM generate_series(1, 5000) g;
SELECT count(*) FROM pos_order WHERE amount > 10;
SELECT count(*) FROM pos_order WHERE amount > 10;
UPDATE pos_order SET amount = amount + 1 WHERE id <= 1000;
DELETE FROM pos_order WHERE id > 4000;
PREPARE by_amount(int) AS SELECT count(*) FROM pos_order WHERE amount < $1;
EXECUTE by_amount(10);
EXECUTE by_amount(20);
EXECUTE by_amount(30);
SQL
}
# calls, shared blocks touched and hit, WAL records of each DML statement
pgss_figures() {
	q "$1" "SELECT string_agg(left(query, 20) || ':' || calls || ':' || shared_blks_hit || ':' ||
		(shared_blks_hit + shared_blks_read) || ':' || wal_records, ' ' ORDER BY query)
		FROM pg_stat_statements
		WHERE query ~ '^(INSERT|SELECT count|UPDATE|DELETE|PREPARE)'"
}

for c in base first last; do
	workload $c
done
org_psql first -d postgres -c "CREATE EXTENSION odoo_retail_guard" >/dev/null
org_psql last -d postgres -c "CREATE EXTENSION odoo_retail_guard" >/dev/null

for c in base first last; do
	tap_ok "auto_explain is active beside pg_stat_statements ($c)" \
		grep -q "plan:" "$(org_server_log $c)"
done

want=$(pgss_figures base)
echo "# pg_stat_statements alone (query:calls:hit:touched:wal_records): $want"
tap_ok "the baseline counts buffers and WAL" \
	bash -c "[[ '$want' == *'INSERT INTO pos_orde:1:'* && '$want' != *'INSERT INTO pos_orde:1:0:'* ]]"
for c in first last; do
	got=$(pgss_figures $c)
	echo "# with odoo_retail_guard $c in shared_preload_libraries: $got"
	tap_ok "odoo_retail_guard loaded $c: pg_stat_statements' shared_blks_hit and wal_records unchanged" \
		test "$got" = "$want"
done

# EXECUTE of a prepared statement: the same statement, top level, same calls
prepared_pgss() {
	q "$1" "SELECT queryid || ':' || calls FROM pg_stat_statements
		WHERE query LIKE 'PREPARE by_amount%' AND toplevel"
}
prepared_ours() {
	q "$1" "SELECT queryid || ':' || sum(calls) FROM odoo_retail_guard.slow_queries
		WHERE queryid = (SELECT queryid FROM pg_stat_statements WHERE query LIKE 'PREPARE by_amount%')
		  AND toplevel GROUP BY queryid"
}
for c in first last; do
	p=$(prepared_pgss $c)
	tap_ok "pg_stat_statements counts the EXECUTEs top level ($c): $p" test "${p#*:}" = 3
	tap_ok "odoo_retail_guard (track = top) counts them as the same statement, same calls ($c)" \
		test "$(prepared_ours $c)" = "$p"
done

# the vacuum scan ran in this database: its query must not be tracked
org_psql first -d postgres -c "ALTER SYSTEM SET odoo_retail_guard.vacuum_databases = '*'" -c "SELECT pg_reload_conf()" >/dev/null
scanned() { [ "$(q first "SELECT count(*) FROM odoo_retail_guard.autovacuum_lag
	WHERE database = 'postgres' AND relation = 'pos_order'")" = 1 ]; }
tap_ok "the vacuum scan has visited the database" org_wait_until 60 "vacuum scan" scanned
tap_ok "the vacuum scan's own query is not among the tracked statements" \
	test "$(q first "SELECT count(*) FROM odoo_retail_guard.slow_queries
		WHERE query LIKE '%pg_stat_get_dead_tuples%'")" = 0
tap_ok "nor among the slow samples (slow_query_ms = 0)" \
	test "$(q first "SELECT count(*) FROM odoo_retail_guard.slow_query_samples
		WHERE query LIKE '%pg_stat_get_dead_tuples%'")" = 0
tap_ok "the clients' statements are tracked and sampled" \
	test "$(q first "SELECT count(*) > 0 FROM odoo_retail_guard.slow_queries WHERE query LIKE 'INSERT INTO pos_order%'")|$(
		q first "SELECT count(*) > 0 FROM odoo_retail_guard.slow_query_samples WHERE query LIKE 'INSERT INTO pos_order%'")" = "t|t"
tap_done
