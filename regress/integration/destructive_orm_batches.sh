#!/usr/bin/env bash
# destructive_orm_batches.sh: a mistaken ORM mass unlink, as Odoo sends it
# (one DELETE per 1000 ids, all in the request's one transaction), is
# journaled as one event with the summed rows, and `runbook pitr
# --before-event` on that event restores every row it removed.
# Statement shape: DELETE FROM "stock_move" WHERE id IN (...), odoo/models.py
# 17.0 BaseModel.unlink() l.4210, batched by odoo/sql_db.py
# Cursor.split_for_in_conditions (IN_MAX = 1000).  Bounded by a watchdog
# (ORG_RB_TIMEOUT, default 150 s).
set -uo pipefail

ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib/cluster.sh
. "$ORG_SRC_DIR/regress/lib/cluster.sh"
# shellcheck source=../lib/runbook_nodes.sh
. "$ORG_SRC_DIR/regress/lib/runbook_nodes.sh"
# shellcheck source=../lib/runbook_test.sh
. "$ORG_SRC_DIR/regress/lib/runbook_test.sh"

org_harness_init
rb_watchdog "${ORG_RB_TIMEOUT:-150}"
rb_cleanup() {
	local rc=$?
	rb_kill_jobs
	(exit $rc)
	org_harness_cleanup
}
trap rb_cleanup EXIT

W=$(org_scratch_dir orm)
org_as_owner mkdir -p "$W/archive" "$W/backups"

# the default threshold: no single batch of 1000 rows is over it
org_cluster_start src "$(org_archive_conf "$W/archive")
odoo_retail_guard.destructive_min_rows = 1000"

conf="$W/agent.conf"
org_as_owner tee "$conf" >/dev/null <<EOF
[agent]
spool_dir = $W/spool

[node src]
conninfo = host=${ORG_SOCK[src]} port=${ORG_PORT[src]} user=postgres dbname=postgres
cluster = shop

[runbook pitr]
node = src
backup_dir = $W/backups
archive_dir = $W/archive
data_dir = ${ORG_DATA[src]}
journal = $W/journal
bin_dir = $ORG_BINDIR
restore_socket_dir = $W
archive_timeout = 30s
start_timeout = 60s
recovery_timeout = 120s
check_query = SELECT count(*) = 50000 FROM stock_move WHERE batch IN (1, 2)
EOF

agent() { org_as_owner "$AGENT" -c "$conf" runbook "$@"; }
q() { PGCONNECT_TIMEOUT=5 PGOPTIONS='-c statement_timeout=30s' org_psql "$1" -d postgres -Atc "$2"; }

q src "CREATE EXTENSION odoo_retail_guard" >/dev/null
q src "CREATE TABLE stock_move (id serial PRIMARY KEY, product_id integer, state varchar, batch int);
       INSERT INTO stock_move (product_id, state, batch) SELECT g % 50, 'done', 1 FROM generate_series(1, 40000) g;" >/dev/null

out=$(agent backup 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check "backup runbook succeeds" [ $rc -eq 0 ]

q src "INSERT INTO stock_move (product_id, state, batch) SELECT g % 50, 'done', 2 FROM generate_series(1, 10000) g;" >/dev/null
lsn_start=$(q src "SELECT pg_current_wal_insert_lsn()")

# the ORM's unlink of 50 000 records: 50 statements in one transaction
unlink_sql="$W/unlink.sql"
q src "SELECT format('DELETE FROM \"stock_move\" WHERE id IN (%s);', string_agg(i::text, ', ' ORDER BY i))
       FROM generate_series(1, 50000) i GROUP BY (i - 1) / 1000 ORDER BY min(i)" >"$W/batches"
{ echo "BEGIN;"; cat "$W/batches"; echo "COMMIT;"; } | org_as_owner tee "$unlink_sql" >/dev/null
check "the ORM's unlink is 50 statements" [ "$(grep -c '^DELETE FROM "stock_move" WHERE id IN (' "$unlink_sql")" -eq 50 ]
PGOPTIONS='-c application_name=odoo-31337' org_psql src -d postgres -q -v ON_ERROR_STOP=1 -f "$unlink_sql" >/dev/null
check "the unlink removed every row" [ "$(q src 'SELECT count(*) FROM stock_move')" = 0 ]

q src "INSERT INTO stock_move (product_id, state, batch) SELECT g % 50, 'done', 3 FROM generate_series(1, 30) g;" >/dev/null

event=$(q src "SELECT event_id || ' ' || rows || ' ' || statements || ' ' || lsn_before || ' ' || (lsn_before >= '$lsn_start'::pg_lsn)
               FROM odoo_retail_guard.destructive_events WHERE relation = 'stock_move'")
echo "# event: $event"
read -r event_id event_rows event_statements event_lsn event_after <<<"$event"
check "one event for the whole batched unlink" [ "$(q src "SELECT count(*) FROM odoo_retail_guard.destructive_events WHERE relation = 'stock_move'")" = 1 ]
check "with the summed rows and the 50 statements" [ "${event_rows:-}:${event_statements:-}" = 50000:50 ]
check "its lsn_before lies after the position read before the transaction" [ "${event_after:-}" = true ]

port=$(org_free_port)
t0=$SECONDS
out=$(agent pitr --before-event "${event_id:-0}" --restore-dir "$W/r_event" --restore-port "$port" 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
[ -d "$W/r_event" ] && org_adopt_cluster r_event "$W/r_event" "$W" "$port"
check "pitr --before-event on the batched unlink succeeds" [ $rc -eq 0 ]
check "the target is the event's lsn_before" grep -q "before event ${event_id:-x} (lsn ${event_lsn:-x})" "$W/journal"
check "the restored node has every row the unlink removed" \
	[ "$(q r_event 'SELECT count(*) FROM stock_move WHERE batch IN (1, 2)')" = 50000 ]
check "and none of the rows written after it" [ "$(q r_event 'SELECT count(*) FROM stock_move WHERE batch = 3')" = 0 ]
echo "# pitr before the batched unlink: $((SECONDS - t0)) s wall"
echo "1..$n"
[ $fails -eq 0 ]
