#!/usr/bin/env bash
# End to end with the real extension and a real Alertmanager: Odoo's cron
# protocol and its nightly housekeeping, as the agent pages them.
#
# An Odoo cron job runs on two connections of one Odoo process (same
# application_name odoo-<pid>): the cron cursor acquires the job's ir_cron
# row and stays idle in transaction until the job ends, the job connection
# does the work.  Checked:
#   1. the running job's cron cursor, idle past the idle_in_transaction
#      threshold and holding the vacuum horizon, is not paged as
#      idle_in_transaction; vacuum_horizon and cron_job_runtime name the job
#      (id and name read from ir_cron); the job shows in odoo_jobs and in
#      orguard-agent once;
#   2. a lock wait rooted in its cron cursor names the job;
#   3. an abandoned psql session holding a snapshot is paged;
#   4. the autovacuum job's garbage-collection deletes are recorded at info
#      (log, /metrics), not paged: one the extension recognises by its shape
#      (bus_bus), one it only knows came from job 3, which the agent knows
#      from ir_cron is the autovacuum job (a wizard table); an ad hoc mass
#      delete is paged critical.
#
# The tables are the minimum the statements need, with Odoo 16.0's column
# names: ir_cron (odoo/addons/base/models/ir_cron.py), ir_cron_trigger
# (odoo/addons/base/models/ir_cron.py, ir.cron.trigger), ir_act_server
# (odoo/addons/base/models/ir_actions.py, ir.actions.server), bus_bus
# (addons/bus/models/bus.py), the autovacuum job as
# odoo/addons/base/data/ir_cron_data.xml declares it (autovacuum_job).
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh
. regress/lib/sessions.sh
trap 'rc=$?; org_sessions_close_all; (exit $rc); agent_cleanup_all' EXIT

make -s agent >/dev/null || org_die "agent build failed"
# one ORM unlink batch (1000 ids) is over the journal's threshold
org_cluster_start cron_node "odoo_retail_guard.destructive_min_rows = 500"
org_psql cron_node -d postgres -c "CREATE DATABASE odoo" >/dev/null
org_psql cron_node -d odoo -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || org_die "schema"
CREATE EXTENSION odoo_retail_guard;
CREATE TABLE ir_model (id serial PRIMARY KEY, model varchar NOT NULL);
INSERT INTO ir_model (model) VALUES ('ir.cron'), ('bus.bus'), ('pos.order'), ('stock.quant'), ('ir.autovacuum');
-- ir.actions.server: name is translated (jsonb since 16.0), model_name a stored related field
CREATE TABLE ir_act_server (id serial PRIMARY KEY, name jsonb NOT NULL, type varchar NOT NULL,
  usage varchar, model_id int, model_name varchar, state varchar NOT NULL, code text);
-- ir.cron 16.0: cron_name = related ir_actions_server_id.name, stored (jsonb)
CREATE TABLE ir_cron (id serial PRIMARY KEY, ir_actions_server_id int NOT NULL REFERENCES ir_act_server(id),
  cron_name jsonb, user_id int NOT NULL DEFAULT 1, active boolean DEFAULT true,
  interval_number int DEFAULT 1, interval_type varchar DEFAULT 'months', numbercall int DEFAULT 1,
  doall boolean, nextcall timestamp NOT NULL DEFAULT (now() at time zone 'UTC'), lastcall timestamp,
  priority int DEFAULT 5);
CREATE TABLE ir_cron_trigger (id serial PRIMARY KEY, cron_id int REFERENCES ir_cron(id), call_at timestamp);
-- job 3: base.autovacuum_job (ir_cron_data.xml: model ir.autovacuum, code model._run_vacuum_cleaner(),
-- daily, numbercall -1, priority 3); job 7: stock's scheduler (stock/data/stock_data.xml,
-- procurement.group run_scheduler)
INSERT INTO ir_act_server (id, name, type, usage, model_name, state, code) VALUES
  (3, '{"en_US": "Base: Auto-vacuum internal data"}', 'ir.actions.server', 'ir_cron', 'ir.autovacuum', 'code',
   'model._run_vacuum_cleaner()'),
  (7, '{"en_US": "Procurement: run scheduler"}', 'ir.actions.server', 'ir_cron', 'procurement.group', 'code',
   'model.run_scheduler(True)');
INSERT INTO ir_cron (id, ir_actions_server_id, cron_name, interval_type, numbercall, priority,
  nextcall) VALUES
  (3, 3, '{"en_US": "Base: Auto-vacuum internal data"}', 'days', -1, 3, now() at time zone 'UTC'),
  (7, 7, '{"en_US": "Procurement: run scheduler"}', 'days', -1, 5, now() at time zone 'UTC');
CREATE TABLE stock_quant (id serial PRIMARY KEY, product_id int, quantity numeric);
INSERT INTO stock_quant (product_id, quantity) SELECT g, 10 FROM generate_series(1, 50) g;
CREATE TABLE bus_bus (id serial PRIMARY KEY, channel varchar, message varchar, create_date timestamp);
INSERT INTO bus_bus (channel, message, create_date)
  SELECT '["odoo","res.partner",3]', '{}', now() at time zone 'UTC' - interval '1 day' FROM generate_series(1, 1000);
-- a wizard (TransientModel), account/wizard/account_payment_register.py: vacuumed by the autovacuum job
CREATE TABLE account_payment_register (id serial PRIMARY KEY, amount numeric, create_date timestamp,
  write_date timestamp);
INSERT INTO account_payment_register (amount, create_date, write_date)
  SELECT g, now() at time zone 'UTC' - interval '1 day', now() at time zone 'UTC' - interval '1 day'
  FROM generate_series(1, 1000) g;
CREATE TABLE pos_order (id serial PRIMARY KEY, amount numeric);
INSERT INTO pos_order (amount) SELECT g FROM generate_series(1, 1000) g;
SQL

alertmanager_start

mport=$(org_free_port)
conf="$ORG_TMP/agent.conf"
cat >"$conf" <<EOF
[agent]
interval = 1s
node_timeout = 900ms
spool_dir = $ORG_TMP/spool
listen = 127.0.0.1:$mport
[node store5]
conninfo = $(org_conn cron_node) dbname=odoo
cluster = e2e
store = 0005
[pager am]
type = alertmanager
url = $am_url
alert_ttl = 10m
[rule idle_in_transaction]
threshold = 3s
clear = 2s
[rule vacuum_horizon]
threshold = 3s
clear = 2s
[rule lock_wait]
threshold = 2s
clear = 1s
[rule cron_job_runtime]
threshold = 4s
clear = 3s
[rule connection_usage]
enabled = false
EOF
am_count() { # MATCHER...: number of active alerts matching
	local args=() m
	for m in "$@"; do args+=(--data-urlencode "filter=$m"); done
	curl -fsS --max-time 5 -G "$am_url/api/v2/alerts" --data-urlencode "active=true" "${args[@]}" |
		python3 -c 'import json,sys; print(sum(1 for a in json.load(sys.stdin) if a["status"]["state"] == "active"))'
}
am_has() { [ "$(am_count "$@")" -gt 0 ]; }
am_lacks() { [ "$(am_count "$@")" -eq 0 ]; }
metric() { # NAME [LABEL="VALUE"]: the value of the first series of NAME with that label
	curl -fsS --max-time 5 "http://127.0.0.1:$mport/metrics" |
		awk -v k="$1{" -v l="${2:-}" 'index($0, k) == 1 && index($0, l) {print $NF; exit}'
}
metric_is() { [ "$(metric "$1" "$2")" = "$3" ]; }
log_has() { grep -q "$1" "$ORG_TMP/agent.log"; }

# Odoo 16.0 odoo/addons/base/models/ir_cron.py, as the cron cursor and the job connection send them
# (psycopg2 interpolates the parameters; every Odoo cursor is REPEATABLE READ, odoo/sql_db.py)
ready_jobs_sql() { # _get_all_ready_jobs
	echo "SELECT *, cron_name->>'en_US' as cron_name FROM ir_cron WHERE active = true AND numbercall != 0
 AND (nextcall <= (now() at time zone 'UTC') OR id in (SELECT cron_id FROM ir_cron_trigger
 WHERE call_at <= (now() at time zone 'UTC'))) ORDER BY priority;"
}
acquire_sql() { # _acquire_one_job(cr, (ID,))
	echo "SELECT *, cron_name->>'en_US' as cron_name FROM ir_cron WHERE active = true AND numbercall != 0
 AND (nextcall <= (now() at time zone 'UTC') OR EXISTS (SELECT cron_id FROM ir_cron_trigger
 WHERE call_at <= (now() at time zone 'UTC') AND cron_id = ir_cron.id)) AND id in ($1)
 ORDER BY priority LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED;"
}
release_sql() { # _process_job after the job: reschedule, drop its triggers, commit
	echo "UPDATE ir_cron SET nextcall='2099-01-01 00:00:00', numbercall=-1,
 lastcall='$(date -u '+%Y-%m-%d %H:%M:%S')', active=true WHERE id=$1;
DELETE FROM ir_cron_trigger WHERE cron_id = $1 AND call_at < (now() at time zone 'UTC');
COMMIT;"
}
start_job() { # ID: the cron cursor acquires job ID and idles; the job connection opens
	# the job connection comes from Odoo's connection pool (odoo/sql_db.py ConnectionPool): it
	# is open before the job is acquired, so the cron cursor never idles without it
	org_session_open job cron_node odoo odoo-4242 || org_die "job connection"
	org_session_open cron cron_node odoo odoo-4242 || org_die "cron cursor"
	org_session_send cron "BEGIN ISOLATION LEVEL REPEATABLE READ;"
	org_session_send cron "$(ready_jobs_sql)"
	org_session_send cron "$(acquire_sql "$1")"
	org_session_send job "BEGIN ISOLATION LEVEL REPEATABLE READ;"
	cron_pid=$(org_session_pid cron)
	job_pid=$(org_session_pid job)
}
end_job() { # ID
	# the job's work commits before the cron cursor releases the job (its events are written at commit)
	org_session_send job "COMMIT;"
	org_session_sync job
	org_session_close job
	org_session_send cron "$(release_sql "$1")"
	org_session_sync cron
	org_session_close cron
}
# pids are annotations (they change over an incident), the job's id and name labels
idle_paged_for() { am_annotated idle_in_transaction "pid=$1"; }

agent_start agent "$conf"
tap_ok "the agent polls the node's real snapshot()" \
	org_wait_until 30 "agent polling" log_has "node store5: polling snapshots"

# ---- 1. a running job: the scheduler (job 7)
start_job 7
# the job's work: an ORM search on stock.quant (16.0 odoo/models.py _search, odoo/tools/query.py select()),
# then idle in its transaction while Odoo computes
org_session_send job "SELECT \"stock_quant\".id FROM \"stock_quant\" WHERE (\"stock_quant\".\"quantity\" > 0) ORDER BY  \"stock_quant\".\"id\" ;"
tap_ok "odoo_jobs shows the job: its id, cron cursor and job connection" org_wait_until 30 "odoo_jobs" \
	org_true cron_node odoo "SELECT EXISTS (SELECT FROM odoo_retail_guard.odoo_jobs
		WHERE job_id = 7 AND cron_pid = $cron_pid AND $job_pid = ANY (job_pids))"
tap_ok "vacuum_horizon names the job holding the horizon (id and name from ir_cron)" \
	org_wait_until 45 "vacuum_horizon" am_has 'alertname="vacuum_horizon"' 'cron_job_id="7"' \
	'cron_job="Procurement: run scheduler"'
tap_ok "cron_job_runtime fires for the job, keyed by database and job id" \
	org_wait_until 30 "cron_job_runtime" am_has 'alertname="cron_job_runtime"' 'subject="odoo/job:7"' \
	'cron_job="Procurement: run scheduler"'
cron_idle_for() {
	org_true cron_node odoo "SELECT state = 'idle in transaction' AND now() - state_change >= interval '$1 s'
		FROM pg_stat_activity WHERE pid = $cron_pid"
}
tap_ok "the cron cursor is idle in transaction past the 3 s threshold" \
	org_wait_until 30 "cron cursor idle 5 s" cron_idle_for 5
polls() { metric orguard_node_polls_total; }
polls_beyond() { local p; p=$(polls) && [ "${p:-0}" -ge "$1" ]; }
tap_ok "the agent keeps polling" org_wait_until 30 "three more polls" polls_beyond $(($(polls) + 3))
tap_ok "the running job's cron cursor is not paged as idle_in_transaction" \
	bash -c "! grep -q 'alert firing: e2e/store5/idle_in_transaction' '$ORG_TMP/agent.log'"
tap_ok "... nor in Alertmanager" am_lacks 'alertname="idle_in_transaction"'
once=$("$AGENT_BIN" --config "$conf" once 2>&1)
tap_ok "orguard-agent once shows the job by name" grep -q 'cron_job_runtime .*odoo/job:7 .*"Procurement: run scheduler"' <<<"$once"

lock_wait_names_job() {
	am_has 'alertname="lock_wait"' 'cron_job_id="7"' 'cron_job="Procurement: run scheduler"' &&
		am_annotated lock_wait "root_pid=$cron_pid"
}

# ---- 2. a lock wait rooted in the cron cursor: an administrator deactivates the running job
org_session_open admin cron_node odoo psql || org_die "admin session"
org_session_send admin "UPDATE ir_cron SET active = false WHERE id = 7;"
tap_ok "lock_wait rooted in the cron cursor names the job" \
	org_wait_until 45 "lock_wait" lock_wait_names_job
tap_ok "the cron cursor is still not paged as idle_in_transaction" am_lacks 'alertname="idle_in_transaction"'
org_query cron_node odoo "SELECT pg_terminate_backend($(org_session_pid admin))" >/dev/null
org_session_close admin
end_job 7

# ---- 3. an abandoned psql session holding a snapshot
org_session_open forgotten cron_node odoo psql || org_die "psql session"
org_session_send forgotten "BEGIN ISOLATION LEVEL REPEATABLE READ;"
org_session_send forgotten "SELECT count(*) FROM pos_order;"
tap_ok "an abandoned psql session holding a snapshot is paged as idle_in_transaction" \
	org_wait_until 45 "idle_in_transaction" idle_paged_for "$(org_session_pid forgotten)"
org_session_close forgotten

# ---- 4. nightly housekeeping, then an ad hoc mass delete
start_job 3
# ir.autovacuum _run_vacuum_cleaner -> bus.bus _gc_messages (16.0 addons/bus/models/bus.py:
# search(create_date < now - TIMEOUT*2).unlink()); unlink deletes per 1000 ids (16.0 odoo/models.py,
# cr.split_for_in_conditions)
org_session_send job "SELECT \"bus_bus\".id FROM \"bus_bus\" WHERE (\"bus_bus\".\"create_date\" < '$(date -u -d '-200 seconds' '+%Y-%m-%d %H:%M:%S')') ORDER BY  \"bus_bus\".\"id\" ;"
org_session_send job "DELETE FROM \"bus_bus\" WHERE id IN ($(seq -s, 1 1000));"
# 16.0 odoo/addons/base/models/ir_autovacuum.py commits after each autovacuum method
org_session_send job "COMMIT;"
org_session_send job "BEGIN ISOLATION LEVEL REPEATABLE READ;"
# TransientModel._transient_vacuum -> _transient_clean_rows_older_than (16.0 odoo/models.py): the ids
# older than _transient_max_hours, then unlink() per 1000 ids
org_session_send job "SELECT id FROM account_payment_register WHERE COALESCE(write_date, create_date, (now() at time zone 'UTC'))::timestamp < ((now() at time zone 'UTC') - interval '3600 seconds');"
org_session_send job "DELETE FROM \"account_payment_register\" WHERE id IN ($(seq -s, 1 1000));"
end_job 3
tap_ok "the autovacuum job's bus_bus delete is recorded at info" org_wait_until 30 "housekeeping recorded" \
	log_has 'alert firing: e2e/store5/destructive_event/delete/odoo/[^ ]*bus_bus[^ ]* \[info\] .*(housekeeping'
tap_ok "the wizard clean-up of the autovacuum job (known from ir_cron) too, naming the job" \
	org_wait_until 30 "job 3 recorded" log_has \
	'alert firing: e2e/store5/destructive_event/delete/odoo/[^ ]*account_payment_register[^ ]* \[info\] .*(housekeeping, Odoo job 3 "Base: Auto-vacuum internal data")'
tap_ok "/metrics counts both as housekeeping" org_wait_until 30 "housekeeping counted" \
	metric_is orguard_destructive_events_total 'origin="housekeeping"' 2
org_session_open clerk cron_node odoo psql || org_die "clerk session"
org_session_send clerk "DELETE FROM pos_order WHERE id <= 800;"
tap_ok "an ad hoc mass delete is paged critical" org_wait_until 30 "ad hoc page" \
	am_has 'alertname="destructive_event"' 'relation=~".*pos_order"' 'origin="adhoc"' 'severity="critical"'
tap_ok "the housekeeping deletes never reached Alertmanager" \
	am_lacks 'alertname="destructive_event"' 'origin="housekeeping"'
tap_ok "only the ad hoc one did" test "$(am_count 'alertname="destructive_event"')" -eq 1
tap_ok "/metrics counts the ad hoc one" \
	org_wait_until 30 "adhoc counted" metric_is orguard_destructive_events_total 'origin="adhoc"' 1
org_session_close clerk

agent_kill agent
tap_done
