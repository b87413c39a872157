#!/usr/bin/env bash
# Lock tracker: blocking chains, lock wait events, lock contention and lock
# conflict counts, with Odoo's row-lock conflicts on stock_quant
# (FOR NO KEY UPDATE under REPEATABLE READ) and ir_sequence (NOWAIT).
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
. "$ORG_SRC_DIR/regress/lib/cluster.sh"
. "$ORG_SRC_DIR/regress/lib/sessions.sh"

org_harness_init
trap 'rc=$?; org_sessions_close_all; (exit $rc); org_harness_cleanup' EXIT

org_cluster_start locks "odoo_retail_guard.lock_wait_event_threshold = 1000"
C=locks
DB=odoo
org_psql $C -d postgres -c "CREATE DATABASE $DB" >/dev/null
org_psql $C -d $DB >/dev/null <<'SQL'
CREATE EXTENSION odoo_retail_guard;
CREATE TABLE stock_quant (id serial PRIMARY KEY, product_id int, quantity numeric, reserved_quantity numeric);
INSERT INTO stock_quant (product_id, quantity, reserved_quantity)
	SELECT g, 10, 0 FROM generate_series(1, 10) g;
CREATE TABLE ir_sequence (id int PRIMARY KEY, number_next int);
INSERT INTO ir_sequence VALUES (42, 1);
SQL

V=odoo_retail_guard
ok "the sampler is running" org_wait_until 30 "sampler" org_true $C $DB \
	"SELECT pid IS NOT NULL FROM $V.sampler_status"

# --- stock_quant: a cron holds the row, two HTTP workers queue behind it ---
org_session_open cron $C $DB odoo-2001-cron
org_session_open pos1 $C $DB odoo-1001
org_session_open pos2 $C $DB odoo-1002
CRON=$(org_session_pid cron)
POS1=$(org_session_pid pos1)
POS2=$(org_session_pid pos2)

org_session_send cron "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT id FROM stock_quant WHERE id IN (3) ORDER BY id LIMIT 1 FOR NO KEY UPDATE;"
org_wait_until 30 "cron to hold the row" org_true $C $DB \
	"SELECT state = 'idle in transaction' FROM pg_stat_activity WHERE pid = $CRON"
org_session_send pos1 "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT id FROM stock_quant WHERE id IN (3) FOR NO KEY UPDATE;"
ok "first POS worker waits on the cron (transactionid)" org_wait_until 30 "pos1 chain" org_true $C $DB \
	"SELECT count(*) = 1 FROM $V.blocking_chains WHERE waiter_pid = $POS1 AND lock_type = 'transactionid'"
org_session_send pos2 "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT id FROM stock_quant WHERE id IN (3) FOR NO KEY UPDATE;"
ok "second POS worker queues behind the first (tuple)" org_wait_until 30 "pos2 chain" org_true $C $DB \
	"SELECT count(*) = 1 FROM $V.blocking_chains WHERE waiter_pid = $POS2 AND lock_type = 'tuple'"

row=$(org_query $C $DB "SELECT root_pid, relation, model, mode, root_application_name, root_worker_class,
	root_state, waiter_application_name, waiter_worker_class, hard_blockers = ARRAY[$CRON]
	FROM $V.blocking_chains WHERE waiter_pid = $POS1")
is "$row" "$CRON|stock_quant|stock.quant|ShareLock|odoo-2001-cron|cron|idle in transaction|odoo-1001|http|t" \
	"transactionid wait: root is the cron, attributed to stock_quant / stock.quant"
row=$(org_query $C $DB "SELECT chain = ARRAY[$POS1, $CRON], root_pid, relation, model, hard_blockers = ARRAY[$POS1]
	FROM $V.blocking_chains WHERE waiter_pid = $POS2")
is "$row" "t|$CRON|stock_quant|stock.quant|t" "tuple wait: chain goes through the first waiter up to the cron"
ok "root query is the cron's last statement, normalized" org_true $C $DB \
	"SELECT root_query LIKE '%FOR NO KEY UPDATE%' AND root_query LIKE '%IN (\$1)%' AND root_query NOT LIKE '%(3)%'
	 FROM $V.blocking_chains WHERE waiter_pid = $POS1"
ok "waiter query is normalized too" org_true $C $DB \
	"SELECT waiter_query LIKE 'SELECT id FROM stock_quant WHERE id IN (\$1)%' FROM $V.blocking_chains WHERE waiter_pid = $POS1"
ok "root transaction age is known" org_true $C $DB \
	"SELECT root_xact_age_ms > 0 AND root_xact_start IS NOT NULL FROM $V.blocking_chains WHERE waiter_pid = $POS1"
ok "wait durations grow past one second" org_wait_until 30 "wait_ms" org_true $C $DB \
	"SELECT count(*) = 2 FROM $V.blocking_chains WHERE waiter_pid IN ($POS1, $POS2) AND wait_ms >= 1000"
ok "wait duration agrees with pg_locks.waitstart" org_true $C $DB \
	"SELECT abs(extract(epoch FROM (b.wait_start - l.waitstart))) < 0.001
	 FROM $V.blocking_chains b JOIN pg_locks l ON l.pid = b.waiter_pid AND NOT l.granted
	 WHERE b.waiter_pid = $POS1"
ok "blockers match pg_blocking_pids()" org_true $C $DB \
	"SELECT bool_and(b.hard_blockers || b.soft_blockers = pg_blocking_pids(b.waiter_pid))
	 FROM $V.blocking_chains b"

# the agent's snapshot carries the same chains (decoded by the official protoc)
snap_text="$ORG_TMP/locks-snapshot.txt"
org_query $C $DB "SELECT encode($V.snapshot(0), 'base64')" | base64 -d |
	protoc --proto_path="$ORG_SRC_DIR/proto" --decode=odoo_retail_guard.Snapshot \
		"$ORG_SRC_DIR/proto/odoo_retail_guard.proto" >"$snap_text"
ok "the snapshot decodes with protoc" test -s "$snap_text"
ok "the snapshot carries the chain with the cron as root" bash -c \
	"awk '/^blocking_chains \\{/ {b=1} b && /^}/ {b=0} b' '$snap_text' | grep -q 'root_pid: $CRON' &&
	 grep -q 'model: \"stock.quant\"' '$snap_text' && grep -q 'root_worker_class: \"cron\"' '$snap_text'"

# privileges: readers see chains without texts, others see nothing
org_psql $C -d $DB >/dev/null <<'SQL'
CREATE ROLE guard_reader LOGIN IN ROLE odoo_retail_guard_reader;
CREATE ROLE guard_monitor LOGIN IN ROLE pg_monitor;
CREATE ROLE nobody LOGIN;
SQL
ok "a reader sees the chains but no query texts" org_true $C $DB \
	"SET ROLE guard_reader; SELECT count(*) = 2 AND bool_and(root_query IS NULL AND waiter_query IS NULL) FROM $V.blocking_chains"
ok "pg_monitor sees the texts" org_true $C $DB \
	"SET ROLE guard_monitor; SELECT count(*) = 2 AND bool_and(root_query IS NOT NULL) FROM $V.blocking_chains"
ok "a plain role may not read the chains" bash -c \
	"psql -X -h '${ORG_SOCK[$C]}' -p '${ORG_PORT[$C]}' -U nobody -d $DB -c 'SELECT * FROM $V.blocking_chains' 2>&1 | grep -q 'permission denied'"
ok "a plain role may not reset lock statistics" bash -c \
	"psql -X -h '${ORG_SOCK[$C]}' -p '${ORG_PORT[$C]}' -U nobody -d $DB -c 'SELECT $V.reset_lock_stats()' 2>&1 | grep -q 'permission denied'"

# the cron commits: the waits end and land in the ring
org_session_send cron "COMMIT;"
org_session_send pos1 "COMMIT;"
org_session_send pos2 "COMMIT;"
ok "chains are gone once the cron commits" org_wait_until 30 "no chains" org_true $C $DB \
	"SELECT count(*) = 0 FROM $V.blocking_chains"
ok "the finished wait is in lock_wait_events with the cron as root" org_wait_until 30 "event" org_true $C $DB \
	"SELECT count(*) = 1 FROM $V.lock_wait_events WHERE waiter_pid = $POS1 AND root_pid = $CRON
	 AND model = 'stock.quant' AND lock_type = 'transactionid' AND wait_ms >= 1000
	 AND root_application_name = 'odoo-2001-cron' AND root_worker_class = 'cron'"
ok "the second waiter's wait is in the ring too" org_true $C $DB \
	"SELECT count(*) = 1 FROM $V.lock_wait_events WHERE waiter_pid = $POS2 AND root_pid = $CRON AND lock_type = 'tuple'"
ok "lock_contention accumulated the stock.quant row waits" org_true $C $DB \
	"SELECT waits = 1 AND max_wait_ms >= 1000 AND total_wait_ms >= max_wait_ms AND distinct_waiters = 1
	 FROM $V.lock_contention WHERE model = 'stock.quant' AND lock_type = 'tuple' AND mode = 'ExclusiveLock'"
# the second worker may also be seen waiting briefly for the first one's xid
ok "lock_contention accumulated the stock.quant xid waits" org_true $C $DB \
	"SELECT waits BETWEEN 1 AND 2 AND max_wait_ms >= 1000 AND total_wait_ms >= max_wait_ms AND distinct_waiters = waits
	 FROM $V.lock_contention WHERE model = 'stock.quant' AND lock_type = 'transactionid' AND mode = 'ShareLock'"
ok "event cursor skips what was read" org_true $C $DB \
	"SELECT count(*) = 0 FROM $V.lock_wait_events_since((SELECT max(event_id) FROM $V.lock_wait_events))"

# --- ir_sequence no_gap: NOWAIT fails at once, lock_timeout after a wait ---
org_session_send cron "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT number_next FROM ir_sequence WHERE id = 42 FOR UPDATE NOWAIT; UPDATE ir_sequence SET number_next = number_next + 1 WHERE id = 42;"
org_wait_until 30 "cron to hold the sequence" org_true $C $DB \
	"SELECT state = 'idle in transaction' AND query LIKE 'UPDATE ir_sequence%' FROM pg_stat_activity WHERE pid = $CRON"
org_session_send pos1 "SELECT number_next FROM ir_sequence WHERE id = 42 FOR UPDATE NOWAIT;"
ok "NOWAIT conflict is counted as lock_not_available" org_wait_until 30 "55P03" org_true $C $DB \
	"SELECT lock_not_available = 1 FROM $V.lock_conflicts WHERE database = current_database()"
ok "NOWAIT raised 55P03 in the session" grep -q 'could not obtain lock on row in relation "ir_sequence"' "${ORG_SESS_OUT[pos1]}"
org_session_send pos1 "SET lock_timeout = '1500ms'; SELECT number_next FROM ir_sequence WHERE id = 42 FOR UPDATE;"
ok "a wait on ir_sequence shows ir.sequence with the cron as root" org_wait_until 30 "seq chain" org_true $C $DB \
	"SELECT count(*) = 1 FROM $V.blocking_chains WHERE waiter_pid = $POS1 AND model = 'ir.sequence'
	 AND root_pid = $CRON AND root_query LIKE 'UPDATE ir_sequence SET number_next = number_next + \$1 WHERE id = \$2%'"
ok "lock_timeout is counted" org_wait_until 30 "timeout" org_true $C $DB \
	"SELECT lock_not_available = 2 FROM $V.lock_conflicts WHERE database = current_database()"
ok "the timed-out wait is in the ring" org_wait_until 30 "seq event" org_true $C $DB \
	"SELECT count(*) = 1 FROM $V.lock_wait_events WHERE waiter_pid = $POS1 AND model = 'ir.sequence'
	 AND root_pid = $CRON AND wait_ms >= 1000"

# conflict counts come from the errors the server logs (docs/samplers.md):
# one not logged because of log_min_messages, or caught inside PL/pgSQL, is
# not counted; the next logged one is, exactly once
org_psql $C -d $DB -c "SET log_min_messages = fatal" \
	-c "SELECT number_next FROM ir_sequence WHERE id = 42 FOR UPDATE NOWAIT" >/dev/null 2>&1
org_psql $C -d $DB -c "DO \$\$BEGIN PERFORM number_next FROM ir_sequence WHERE id = 42 FOR UPDATE NOWAIT;
	EXCEPTION WHEN lock_not_available THEN NULL; END\$\$" >/dev/null 2>&1
ok "a 55P03 that log_min_messages keeps out of the log, or that PL/pgSQL catches, is not counted" org_true $C $DB \
	"SELECT lock_not_available = 2 FROM $V.lock_conflicts WHERE database = current_database()"
org_psql $C -d $DB -c "SELECT number_next FROM ir_sequence WHERE id = 42 FOR UPDATE NOWAIT" >/dev/null 2>&1
ok "the next logged 55P03 is counted once" org_true $C $DB \
	"SELECT lock_not_available = 3 FROM $V.lock_conflicts WHERE database = current_database()"
org_session_send cron "COMMIT;"

# --- serialization failure under REPEATABLE READ ---
org_session_send pos2 "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM stock_quant;"
org_wait_until 30 "pos2 snapshot" org_true $C $DB \
	"SELECT state = 'idle in transaction' FROM pg_stat_activity WHERE pid = $POS2"
org_query $C $DB "UPDATE stock_quant SET quantity = quantity - 1 WHERE id = 5" >/dev/null
org_session_send pos2 "UPDATE stock_quant SET reserved_quantity = 1 WHERE id = 5;"
ok "40001 is counted as a serialization failure" org_wait_until 30 "40001" org_true $C $DB \
	"SELECT serialization_failures = 1 FROM $V.lock_conflicts WHERE database = current_database()"
org_session_send pos2 "ROLLBACK;"

ok "memory lists the lock areas" org_true $C $DB \
	"SELECT count(*) = 4 FROM $V.memory WHERE area IN ('lock_contention', 'blocking_chains', 'lock_wait_events', 'lock_conflict_databases')"
org_psql $C -d $DB -c "SELECT $V.reset_lock_stats()" >/dev/null
ok "reset_lock_stats forgets contention, events and conflicts" org_true $C $DB \
	"SELECT (SELECT count(*) FROM $V.lock_contention) = 0 AND (SELECT count(*) FROM $V.lock_wait_events) = 0
	 AND (SELECT coalesce(sum(lock_not_available + serialization_failures), 0) FROM $V.lock_conflicts) = 0"
ok "the sampler never failed a sample" org_true $C $DB "SELECT errors = 0 AND starts = 1 FROM $V.sampler_status"
ok "no server crash" bash -c "! grep -q 'terminated by signal\|was terminated' '$(org_server_log $C)'"

org_sessions_close_all
org_done
