#!/usr/bin/env bash
# Autovacuum lag with many tenant databases: dead tuples of every database
# come from the shared statistics on each sampler tick, catalog scans only
# when a database's catalog facts may have changed, at most one scan-worker
# start per second, and the per-database cap keeps the worst tables.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
. "$ORG_SRC_DIR/regress/lib/cluster.sh"
. "$ORG_SRC_DIR/regress/lib/sessions.sh"

org_harness_init
trap 'rc=$?; org_sessions_close_all; (exit $rc); org_harness_cleanup' EXIT

C=tenants
V=odoo_retail_guard
TENANTS=30
# autovacuum off: no vacuum or analyze moves a table's catalog facts behind
# the test's back; the sampler ticks five times a second
org_cluster_start $C "odoo_retail_guard.vacuum_sample_interval = 200
odoo_retail_guard.vacuum_catalog_refresh = 600
autovacuum = off"
q() { org_query $C postgres "$1"; }

org_psql $C -d postgres -c "CREATE EXTENSION odoo_retail_guard" >/dev/null
org_psql $C -d postgres -c "CREATE DATABASE tpl IS_TEMPLATE true" >/dev/null
org_psql $C -d tpl >/dev/null <<'SQL'
DO $$
BEGIN
	FOR i IN 1..20 LOOP
		EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, v text)', i);
		EXECUTE format('INSERT INTO t%s SELECT g, ''x'' FROM generate_series(1, 300) g', i);
	END LOOP;
END
$$;
SQL

# --- (b) scan-worker starts: never more than one per second ---
# every tenant is new, so the scan queue is full while they are created
s0=$(q "SELECT vacuum_scans || ' ' || extract(epoch FROM clock_timestamp()) FROM $V.sampler_status")
for i in $(seq -w 1 $TENANTS); do
	org_psql $C -d postgres -c "CREATE DATABASE t$i TEMPLATE tpl" >/dev/null ||
		org_die "CREATE DATABASE t$i failed"
done
ok "several scans ran while the tenants were created" org_wait_until 60 "scans" org_true $C postgres \
	"SELECT vacuum_scans >= ${s0% *} + 6 FROM $V.sampler_status"
s1=$(q "SELECT vacuum_scans || ' ' || extract(epoch FROM clock_timestamp()) FROM $V.sampler_status")
ok "scans over the window <= its seconds + 1 (one start per second at most)" org_true $C postgres \
	"SELECT ${s1% *} - ${s0% *} <= ceil(${s1#* } - ${s0#* }) + 1"

all_scanned() {
	org_true $C postgres "SELECT count(DISTINCT l.database) = $TENANTS + 1
		FROM $V.autovacuum_lag l WHERE l.database = 'postgres' OR l.database LIKE 't__'"
}
ok "every tenant database is scanned" org_wait_until 90 "all scanned" all_scanned
ok "the scan workers were started at most once per second overall" org_true $C postgres \
	"SELECT vacuum_scan_starts <= ceil(extract(epoch FROM clock_timestamp() - started_at)) + 1
	 FROM $V.sampler_status"

# nothing changes now: no more scans.  Shared catalogs (pg_database,
# pg_shdepend, ...) are listed in every database's pg_class while their
# statistics are kept under database 0; read from the wrong place, their
# vacuum times never matched the scan's and every database was scanned
# again, one a second, for ever.  Scans still due (one start a second) end
# first.
quiet_prev=""
quiet() { # no scan started over 15 statistics passes (3 s at 200 ms)
	local now
	now=$(q "SELECT vacuum_scan_starts || '/' || vacuum_stat_passes FROM $V.sampler_status") || return 1
	if [ -z "$quiet_prev" ] || [ "${now%/*}" != "${quiet_prev%/*}" ]; then
		quiet_prev=$now
		return 1
	fi
	[ "${now#*/}" -ge $((${quiet_prev#*/} + 15)) ]
}
ok "once every database is scanned and nothing changes, no scan worker starts" \
	org_wait_until 180 "no scan starts" quiet
# a new database nobody uses is scanned once: the scan's own catalog reads
# give no statistics entry that would look like a new table
starts0=$(q "SELECT vacuum_scan_starts FROM $V.sampler_status")
org_psql $C -d postgres -c "CREATE DATABASE unused TEMPLATE tpl" >/dev/null
quiet_prev=""
ok "a new database is scanned" org_wait_until 60 "unused scanned" org_true $C postgres \
	"SELECT count(*) > 0 FROM $V.autovacuum_lag WHERE database = 'unused'"
ok "and then nothing starts" org_wait_until 180 "no scan starts" quiet
is "$(q "SELECT vacuum_scan_starts - $starts0 FROM $V.sampler_status")" 1 "one scan for the new database, not two"
org_psql $C -d postgres -c "DROP DATABASE unused" >/dev/null
org_psql $C -d postgres -c "CREATE DATABASE scratch" -c "DROP DATABASE scratch" >/dev/null
ok "a shared catalog shows its dead tuples as pg_stat_all_tables does" org_wait_until 30 "pg_database's dead tuples" \
	org_true $C postgres "SELECT l.dead_tuples > 0 AND l.dead_tuples = s.n_dead_tup
	 FROM $V.autovacuum_lag l, pg_stat_all_tables s
	 WHERE l.database = 'postgres' AND l.relation = 'pg_catalog.pg_database' AND s.relid = 'pg_database'::regclass"
# one cluster-wide table, one entry (and one alert), not one per tenant
ok "shared catalogs are tracked once, under the database of lowest OID (postgres)" org_true $C postgres \
	"SELECT count(*) = 1 AND bool_and(l.database = 'postgres')
	 FROM $V.autovacuum_lag l WHERE l.relation = 'pg_catalog.pg_shdepend'"

# --- (a) a busy tenant's table goes over threshold without a catalog scan ---
# a first session creates the statistics entries the later one touches (a
# new entry is a possible new table and would ask for a scan, which may start
# as soon as the session ends)
warm=$(q "SELECT clock_timestamp()")
org_psql $C -d t05 -c "SELECT count(*) FROM t1" -c "DELETE FROM t1 WHERE id <= 0" >/dev/null
ok "the tenant is scanned again after its first session, then left alone" org_wait_until 60 "t05 settled" org_true $C postgres \
	"SELECT scanned_at > '$warm' AND scanned_at < clock_timestamp() - interval '3 s'
	 FROM $V.autovacuum_lag WHERE database = 't05' AND relation = 't1'"
before=$(q "SELECT scanned_at || '|' || xid_age || '|' || dead_tuples || '|' || over_threshold
	FROM $V.autovacuum_lag WHERE database = 't05' AND relation = 't1'")
IFS='|' read -r scanned xid0 dead0 over0 <<<"$before"
is "$dead0|$over0" "0|false" "t05.t1 starts with no dead tuples, under its threshold"
for n in 1 2 3; do
	org_psql $C -d postgres -c "SELECT txid_current()" >/dev/null
done
org_psql $C -d t05 -c "DELETE FROM t1 WHERE id <= 200" >/dev/null
ok "the view shows the new dead tuples and over_threshold_since" org_wait_until 30 "t05.t1 over" org_true $C postgres \
	"SELECT dead_tuples = 200 AND over_threshold AND over_threshold_since IS NOT NULL AND threshold = 50
	 FROM $V.autovacuum_lag WHERE database = 't05' AND relation = 't1'"
ok "its freeze age grew with the cluster's transactions" org_true $C postgres \
	"SELECT xid_age >= $xid0 + 4 FROM $V.autovacuum_lag WHERE database = 't05' AND relation = 't1'"
is "$(q "SELECT scanned_at FROM $V.autovacuum_lag WHERE database = 't05' AND relation = 't1'")" "$scanned" \
	"without a new catalog scan of the tenant"
ok "statistics passes run on the sampler's ticks" org_true $C postgres \
	"SELECT vacuum_stat_passes > vacuum_scans FROM $V.sampler_status"

# --- a dropped table leaves, even when the number of entries stays the same ---
# A session that drops one table and gives a first statistics entry to
# another leaves the database with as many entries as before: the sampler
# must see that the set changed, not only its size.
org_psql $C -d postgres -c "CREATE DATABASE dropdb" >/dev/null
org_psql $C -d dropdb >/dev/null <<'SQL'
CREATE TABLE a1 (id int);
CREATE TABLE b1 (id int);
CREATE TABLE x1 (id int);
INSERT INTO a1 VALUES (1);
INSERT INTO b1 VALUES (1);
SQL
tracked_in_dropdb() { org_true $C postgres "SELECT string_agg(relation, ',' ORDER BY relation) = '$1'
	FROM $V.autovacuum_lag WHERE database = 'dropdb' AND relation NOT LIKE '%.%'"; }
ok "dropdb's tables are tracked" org_wait_until 60 "a1, b1, x1 tracked" tracked_in_dropdb a1,b1,x1
# a first drop gives the catalog's entries to what a drop touches
org_psql $C -d dropdb -c "DROP TABLE b1" >/dev/null
ok "a dropped table leaves autovacuum_lag" org_wait_until 60 "b1 gone" tracked_in_dropdb a1,x1
org_psql $C -d dropdb -c "DROP TABLE a1" -c "SELECT count(*) FROM x1" >/dev/null
ok "a table dropped while another gets its first entry leaves too" \
	org_wait_until 60 "a1 gone" tracked_in_dropdb x1

# --- (c) the per-database cap keeps the worst tables ---
org_psql $C -d postgres -c "CREATE DATABASE capdb" >/dev/null
org_psql $C -d capdb >/dev/null <<'SQL'
DO $$
BEGIN
	FOR i IN 1..6 LOOP
		EXECUTE format('CREATE TABLE c%s (id int PRIMARY KEY)', i);
		EXECUTE format('INSERT INTO c%s SELECT generate_series(1, 700)', i);
		-- c1 100 dead tuples ... c6 600: all over a threshold of 50
		EXECUTE format('DELETE FROM c%s WHERE id <= %s', i, i * 100);
	END LOOP;
END
$$;
SQL
org_psql $C -d postgres -c "ALTER SYSTEM SET odoo_retail_guard.vacuum_databases = 'capdb'" \
	-c "SELECT pg_reload_conf()" >/dev/null
# capdb is now the only database, so the shared catalogs' home: scanned again
ok "with every table tracked, capdb's c tables and the shared catalogs are all there" \
	org_wait_until 60 "capdb tracked" org_true $C postgres \
	"SELECT count(*) FILTER (WHERE relation LIKE 'c_') = 6 AND count(*) FILTER (WHERE database <> 'capdb') = 0
		AND count(*) FILTER (WHERE relation = 'pg_catalog.pg_shdepend') = 1
	 FROM $V.autovacuum_lag"
tracked=$(q "SELECT count(*) FROM $V.autovacuum_lag WHERE database = 'capdb'")
ev0=$(q "SELECT vacuum_evicted FROM $V.sampler_status")
org_psql $C -d postgres -c "ALTER SYSTEM SET odoo_retail_guard.max_tracked_tables_per_database = 3" \
	-c "SELECT pg_reload_conf()" >/dev/null
# a new table with a row: its new statistics entry is a change the sampler
# sees, so capdb is scanned again (a table nothing touched has no entry yet)
org_psql $C -d capdb -c "CREATE TABLE c0 (id int)" -c "INSERT INTO c0 VALUES (1)" >/dev/null
ok "the cap keeps the three worst tables" org_wait_until 60 "capped" org_true $C postgres \
	"SELECT string_agg(relation, ',' ORDER BY relation) = 'c4,c5,c6'
	 FROM $V.autovacuum_lag WHERE database = 'capdb'"
all=$(org_query $C capdb "SELECT count(*) FROM pg_class WHERE relkind IN ('r', 'm') AND relpersistence <> 't'")
ok "every tracked table dropped by the cap is counted as evicted" org_true $C postgres \
	"SELECT vacuum_evicted - $ev0 = $tracked - 3 FROM $V.sampler_status"
is "$(q "SELECT vacuum_untracked_tables FROM $V.sampler_status")" "$((all - 3))" \
	"tables left out by the cap are counted"
ok "the memory view counts the evictions" org_true $C postgres \
	"SELECT evicted >= $tracked - 3 FROM $V.memory WHERE area = 'autovacuum_tables'"

# a new table worse than all: it evicts the least bad one (c4)
ev1=$(q "SELECT vacuum_evicted FROM $V.sampler_status")
org_psql $C -d capdb >/dev/null <<'SQL'
CREATE TABLE c7 (id int PRIMARY KEY);
INSERT INTO c7 SELECT generate_series(1, 700);
DELETE FROM c7;
SQL
ok "a new worse table takes the place of the least bad" org_wait_until 60 "c7 kept" org_true $C postgres \
	"SELECT string_agg(relation || ':' || dead_tuples, ',' ORDER BY relation) = 'c5:500,c6:600,c7:700'
	 FROM $V.autovacuum_lag WHERE database = 'capdb'"
ok "and one more eviction is counted" org_true $C postgres \
	"SELECT vacuum_evicted = $ev1 + 1 FROM $V.sampler_status"
ok "the sampler never failed a sample" org_true $C postgres "SELECT errors = 0 FROM $V.sampler_status"
ok "no server crash" bash -c "! grep -q 'terminated by signal\|terminating any other active server processes' '$(org_server_log $C)'"

org_sessions_close_all
org_done
