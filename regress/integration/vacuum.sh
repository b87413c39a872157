#!/usr/bin/env bash
# Autovacuum lag tracker: a table pushed over its threshold while an Odoo
# cron job runs (orguard-workload cron-job: its cron cursor holds an old
# REPEATABLE READ snapshot, ir_cron.py 17.0 _acquire_one_job); the lag
# grows, the horizon names the cron cursor; tables of a second database
# appear too.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
. "$ORG_SRC_DIR/regress/lib/cluster.sh"
. "$ORG_SRC_DIR/regress/lib/sessions.sh"

org_harness_init
trap 'rc=$?; org_sessions_close_all; (exit $rc); org_harness_cleanup' EXIT

C=vacuum
V=odoo_retail_guard
org_cluster_start $C "odoo_retail_guard.vacuum_sample_interval = 200
max_prepared_transactions = 4"
for db in odoo tenant2; do
	org_psql $C -d postgres -c "CREATE DATABASE $db" >/dev/null
done
make -s workload >/dev/null || org_die "workload build failed"
W=$ORG_SRC_DIR/regress/workload/orguard-workload
ODOO="$(org_conn $C) dbname=odoo"
org_psql $C -d odoo -c "CREATE EXTENSION odoo_retail_guard" >/dev/null
"$W" -d "$ODOO" schema minimal >/dev/null || org_die "orguard-workload schema minimal failed"
org_psql $C -d odoo >/dev/null <<'SQL'
ALTER TABLE bus_bus SET (autovacuum_vacuum_threshold = 100, autovacuum_vacuum_scale_factor = 0);
ANALYZE stock_quant;
SQL
org_psql $C -d tenant2 >/dev/null <<'SQL'
CREATE TABLE res_partner (id serial PRIMARY KEY, name text);
ALTER TABLE res_partner SET (autovacuum_enabled = false);
INSERT INTO res_partner (name) SELECT 'p' || g FROM generate_series(1, 500) g;
DELETE FROM res_partner WHERE id <= 400;
SQL

# a cron worker runs the stock scheduler: its cron cursor takes its
# snapshot with the job's ir_cron row, then stays idle in transaction
"$W" -d "$ODOO" cron-job 'Procurement: run scheduler' 120 >"$ORG_TMP/cron.log" 2>&1 &
GEN=$!
trap 'rc=$?; kill -KILL $GEN 2>/dev/null; org_sessions_close_all; (exit $rc); org_harness_cleanup' EXIT
cron_cursor() {
	org_query $C odoo "SELECT pid FROM pg_stat_activity WHERE datname = 'odoo' AND state = 'idle in transaction'
		AND backend_xmin IS NOT NULL AND query LIKE '%FROM ir_cron WHERE%FOR NO KEY UPDATE SKIP LOCKED%'"
}
cron_cursor_up() { [ -n "$(cron_cursor)" ]; }
org_wait_until 30 "cron snapshot" cron_cursor_up ||
	org_die "the cron worker did not acquire the job"
CRON=$(cron_cursor)
CRON_APP=$(org_query $C odoo "SELECT application_name FROM pg_stat_activity WHERE pid = $CRON")
JOB=$(org_query $C odoo "SELECT pid FROM pg_stat_activity WHERE datname = 'odoo' AND application_name = '$CRON_APP' AND pid <> $CRON")

# churn on bus_bus: its dead rows cannot be removed while the cron holds on
org_psql $C -d odoo >/dev/null <<'SQL'
INSERT INTO bus_bus (channel, message) SELECT '["odoo","res.partner",3]', 'x' FROM generate_series(1, 1000);
DELETE FROM bus_bus;
SQL

ok "bus_bus is over its threshold (reloptions honoured)" org_wait_until 60 "bus_bus over" org_true $C odoo \
	"SELECT over_threshold AND dead_tuples >= 1000 AND threshold = 100 AND model = 'bus.bus'
	 FROM $V.autovacuum_lag WHERE database = 'odoo' AND relation = 'bus_bus'"
lag=$(org_query $C odoo "SELECT lag_s FROM $V.autovacuum_lag WHERE database = 'odoo' AND relation = 'bus_bus'")
since=$(org_query $C odoo "SELECT over_threshold_since FROM $V.autovacuum_lag WHERE database = 'odoo' AND relation = 'bus_bus'")
ok "the lag grows while the table stays over" org_wait_until 30 "lag grows" org_true $C odoo \
	"SELECT lag_s >= $lag + 1.5 AND over_threshold_since = '$since'
	 FROM $V.autovacuum_lag WHERE database = 'odoo' AND relation = 'bus_bus'"
ok "over-threshold tables come first, longest lag first" org_true $C odoo \
	"WITH v AS (SELECT row_number() OVER () AS n, over_threshold, lag_s FROM $V.autovacuum_lag)
	 SELECT NOT EXISTS (SELECT 1 FROM v a JOIN v b ON a.n < b.n
	                    WHERE (NOT a.over_threshold AND b.over_threshold)
	                       OR (a.over_threshold AND b.over_threshold AND a.lag_s < b.lag_s))"
ok "default threshold is 50 + 0.2 * reltuples" org_wait_until 30 "default threshold" org_true $C odoo \
	"SELECT l.threshold = 50 + 0.2 * c.reltuples AND NOT l.over_threshold AND l.live_tuples = pg_stat_get_live_tuples(c.oid)
	 FROM $V.autovacuum_lag l JOIN pg_class c ON c.oid = l.relid
	 WHERE l.database = 'odoo' AND l.relation = 'stock_quant'"
ok "freeze ages are reported against autovacuum_freeze_max_age" org_true $C odoo \
	"SELECT l.xid_age >= age(c.relfrozenxid) - 1000 AND l.xid_age <= age(c.relfrozenxid)
	 AND l.freeze_max_age = current_setting('autovacuum_freeze_max_age')::bigint AND l.mxid_age >= 0
	 FROM $V.autovacuum_lag l JOIN pg_class c ON c.oid = l.relid
	 WHERE l.database = 'odoo' AND l.relation = 'bus_bus'"
ok "tables of a second database are tracked too" org_wait_until 60 "tenant2" org_true $C odoo \
	"SELECT over_threshold AND dead_tuples = 400 AND NOT autovacuum_enabled AND model = 'res.partner'
	 FROM $V.autovacuum_lag WHERE database = 'tenant2' AND relation = 'res_partner'"
ok "catalog tables are listed schema-qualified, without a model" org_true $C odoo \
	"SELECT count(*) > 0 AND bool_and(model IS NULL) FROM $V.autovacuum_lag
	 WHERE database = 'odoo' AND relation LIKE 'pg_catalog.%'"

# --- the horizon ---
row=$(org_query $C odoo "SELECT holder_kind, pid, database, application_name, worker_class, state, oldest
	FROM $V.vacuum_horizon ORDER BY xmin_age DESC LIMIT 1")
is "$row" "backend|$CRON|odoo|$CRON_APP|cron|idle in transaction|t" "vacuum_horizon names the cron cursor as the oldest holder"
ok "the holder's query is normalized" org_true $C odoo \
	"SELECT query LIKE 'SELECT * FROM ir_cron WHERE active = true AND numbercall != \$1 AND %' AND query NOT LIKE '%''UTC''%' FROM $V.vacuum_horizon WHERE pid = $CRON"
ok "its age grows" org_wait_until 30 "age" org_true $C odoo \
	"SELECT age_s > 1 AND xmin_age >= 2 FROM $V.vacuum_horizon WHERE pid = $CRON"
ok "xmin matches pg_stat_activity.backend_xmin" org_true $C odoo \
	"SELECT h.xmin = a.backend_xmin FROM $V.vacuum_horizon h JOIN pg_stat_activity a USING (pid) WHERE h.pid = $CRON"
org_psql $C -d tenant2 -c "BEGIN; INSERT INTO res_partner (name) VALUES ('pos'); PREPARE TRANSACTION 'pos_close_12';" >/dev/null
ok "a prepared transaction is a holder too" org_true $C odoo \
	"SELECT count(*) = 1 FROM $V.vacuum_horizon WHERE holder_kind = 'prepared_xact' AND name = 'pos_close_12' AND database = 'tenant2'"
org_psql $C -d tenant2 -c "ROLLBACK PREPARED 'pos_close_12'" >/dev/null

# the job is stopped as docs/rules.md says (its job connection terminated):
# Odoo fails the job and ends the cron cursor's transaction; vacuum can
# clean up, the lag goes away
org_psql $C -d odoo -c "SELECT pg_terminate_backend($JOB)" >/dev/null
ok "the cron cursor ends its transaction when its job fails" org_wait_until 30 "cron cursor released" org_true $C odoo \
	"SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $CRON AND backend_xmin IS NOT NULL"
org_psql $C -d odoo -c "VACUUM bus_bus" >/dev/null
ok "after the holder commits and vacuum runs, bus_bus is under threshold" org_wait_until 60 "bus_bus clean" org_true $C odoo \
	"SELECT NOT over_threshold AND dead_tuples = 0 AND lag_s = 0 AND over_threshold_since IS NULL AND last_vacuum IS NOT NULL
	 FROM $V.autovacuum_lag WHERE database = 'odoo' AND relation = 'bus_bus'"
ok "the cron no longer holds the horizon" org_true $C odoo \
	"SELECT count(*) = 0 FROM $V.vacuum_horizon WHERE pid = $CRON"

# --- which databases are tracked ---
org_psql $C -d odoo -c "ALTER SYSTEM SET odoo_retail_guard.vacuum_databases = 'odoo'" -c "SELECT pg_reload_conf()" >/dev/null
ok "vacuum_databases limits the scan to the listed databases" org_wait_until 30 "only odoo" org_true $C odoo \
	"SELECT count(*) FILTER (WHERE database <> 'odoo') = 0 AND count(*) > 0 FROM $V.autovacuum_lag"
org_psql $C -d odoo -c "DROP TABLE stock_quant" >/dev/null
ok "dropped tables disappear" org_wait_until 30 "dropped" org_true $C odoo \
	"SELECT count(*) = 0 FROM $V.autovacuum_lag WHERE relation = 'stock_quant'"
ok "memory lists the tracked tables" org_true $C odoo \
	"SELECT used > 0 AND evicted = 0 FROM $V.memory WHERE area = 'autovacuum_tables'"
ok "the sampler never failed a sample" org_true $C odoo "SELECT errors = 0 AND vacuum_samples > 0 FROM $V.sampler_status"
ok "no server crash" bash -c "! grep -q 'terminated by signal\|terminating any other active server processes' '$(org_server_log $C)'"

org_sessions_close_all
org_done
