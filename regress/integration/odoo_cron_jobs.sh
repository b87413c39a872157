#!/usr/bin/env bash
# Odoo scheduled jobs as PostgreSQL sees them: a cron worker's connections
# opened as Odoo 18.0 opens them, recognised in odoo_jobs and the snapshot
# (job id, job connection, model, horizon, who waits on it); the throttle's
# drain spares the cron cursor while its job runs; destructive events carry
# their origin (cron, housekeeping, adhoc).
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
# shellcheck source=../lib/cluster.sh
. regress/lib/cluster.sh
# shellcheck source=../lib/sessions.sh
. regress/lib/sessions.sh

org_harness_init
trap 'org_sessions_close_all; org_harness_cleanup' EXIT
org_cluster_start cron "odoo_retail_guard.destructive_min_rows = 5"
org_psql cron -d postgres -c "CREATE DATABASE retail" -c "CREATE ROLE odoo LOGIN" >/dev/null
q() { org_query cron retail "$1"; }
org_psql cron -d retail -c "CREATE EXTENSION odoo_retail_guard" \
	-c "GRANT CREATE ON SCHEMA public TO odoo" >/dev/null
# the columns the statements below touch, as Odoo names them
org_psql cron -d retail -U odoo -c "
	CREATE TABLE ir_cron (id serial PRIMARY KEY, active boolean, nextcall timestamp, priority int,
		numbercall int DEFAULT -1);
	CREATE TABLE ir_cron_trigger (id serial PRIMARY KEY, cron_id int REFERENCES ir_cron, call_at timestamp);
	CREATE TABLE ir_cron_progress (id serial PRIMARY KEY, cron_id int REFERENCES ir_cron,
		timed_out_counter int, done int, remaining int);
	CREATE TABLE stock_quant (id serial PRIMARY KEY, quantity numeric, write_uid int, write_date timestamp);
	CREATE TABLE res_users_log (id serial PRIMARY KEY, create_uid int, create_date timestamp);
	INSERT INTO ir_cron SELECT g, true, now() - interval '1 min', 5 FROM generate_series(1, 50) g;
	INSERT INTO ir_cron_trigger (cron_id, call_at) VALUES (42, now() - interval '1 min');
	INSERT INTO stock_quant (quantity) SELECT 1 FROM generate_series(1, 200);
	INSERT INTO res_users_log (create_uid, create_date)
		SELECT g % 3, now() - g * interval '1 min' FROM generate_series(1, 30) g;" >/dev/null

# One Odoo 18.0 cron worker process (prefork WorkerCron, pid 7001): every
# connection carries application_name odoo-7001 (odoo/sql_db.py).
APP=odoo-7001
# odoo/service/server.py 18.0 (l.1246-1252): the wake-up connection on the
# postgres database
org_session_open wake cron postgres "$APP" odoo
org_session_send wake "SELECT pg_is_in_recovery(); LISTEN cron_trigger;"
# the cron cursor: odoo/addons/base/models/ir_cron.py 18.0 _acquire_one_job
# (cursors are REPEATABLE READ, odoo/sql_db.py), then _process_job ->
# _clear_schedule on the same cursor, which stays idle in transaction while
# _run_job runs the job on a second cursor
org_session_open cron cron retail "$APP" odoo
org_session_send cron "BEGIN ISOLATION LEVEL REPEATABLE READ;"
org_session_send cron "
            WITH last_cron_progress AS (
                SELECT id as progress_id, cron_id, timed_out_counter, done, remaining
                FROM ir_cron_progress
                WHERE cron_id = 42
                ORDER BY id DESC
                LIMIT 1
            )
            SELECT *
            FROM ir_cron
            LEFT JOIN last_cron_progress lcp ON lcp.cron_id = ir_cron.id
            WHERE id = 42 AND 
            active IS TRUE
            AND (nextcall <= '2099-12-07T03:00:00.123456'::timestamp
                OR id IN (
                    SELECT cron_id
                    FROM ir_cron_trigger
                    WHERE call_at <= '2099-12-07T03:00:00.123456'::timestamp
                )
            )
        
            FOR NO KEY UPDATE SKIP LOCKED
        ;"
org_session_send cron "
            DELETE FROM ir_cron_trigger
            WHERE cron_id = 42
              AND call_at <= '2099-12-07T03:00:00'::timestamp
        ;"
# the job cursor (_run_job): the job writes through the ORM, odoo/models.py
# 17.0 _write shape, and keeps its transaction open
org_session_open job cron retail "$APP" odoo
org_session_send job "BEGIN ISOLATION LEVEL REPEATABLE READ;"
org_session_send job "UPDATE \"stock_quant\" SET \"quantity\" = 5, \"write_uid\" = 1, \"write_date\" = '2099-12-07 03:00:00' WHERE id IN (1);"
CRON_PID=$(org_session_pid cron)
JOB_PID=$(org_session_pid job)
WAKE_PID=$(org_session_pid wake)

ok "the cron cursor sits idle in transaction" org_wait_until 30 "cron cursor idle" \
	org_true cron retail "SELECT state = 'idle in transaction' FROM pg_stat_activity WHERE pid = $CRON_PID"
ok "the job connection sits idle in transaction" org_wait_until 30 "job idle" \
	org_true cron retail "SELECT state = 'idle in transaction' FROM pg_stat_activity WHERE pid = $JOB_PID"

# an HTTP worker of another process waits on the job's row; an operator's
# UPDATE of the job's ir_cron row waits on the cron cursor
org_session_open http cron retail odoo-7002 odoo
org_session_send http "UPDATE \"stock_quant\" SET \"quantity\" = 7, \"write_uid\" = 2, \"write_date\" = '2099-12-07 03:00:01' WHERE id IN (1);"
org_session_open admin cron retail psql
org_session_send admin "UPDATE ir_cron SET active = false WHERE id = 42;"
# another process idle in transaction after an ordinary row lock: no job
org_session_open other cron retail odoo-7003 odoo
org_session_send other "BEGIN; SELECT id FROM stock_quant WHERE id = 2 FOR UPDATE;"

is "$(q "SELECT count(*) FROM odoo_retail_guard.odoo_jobs")" 1 "one job is running"
is "$(q "SELECT cron_pid FROM odoo_retail_guard.odoo_jobs")" "$CRON_PID" "its cron cursor is the acquiring connection"
is "$(q "SELECT job_pids FROM odoo_retail_guard.odoo_jobs")" "{$JOB_PID}" \
	"its job connection is the other business-database connection of the process (not the LISTEN one)"
is "$(q "SELECT job_id FROM odoo_retail_guard.odoo_jobs")" 42 "the job id comes from the trigger clean-up"
is "$(q "SELECT database || ' ' || application_name || ' ' || kind FROM odoo_retail_guard.odoo_jobs")" \
	"retail $APP ir_cron" "database, application_name and kind"
is "$(q "SELECT job_state || ' / ' || job_model FROM odoo_retail_guard.odoo_jobs")" \
	"idle in transaction / stock.quant" "the job connection's state and model"
job_query=$(q "SELECT job_query FROM odoo_retail_guard.odoo_jobs")
ok "the job's statement is normalized (no constants)" \
	bash -c "[[ '$job_query' == 'UPDATE \"stock_quant\" SET \"quantity\" = \$1'* && '$job_query' != *2099* ]]"
ok "the job has been running since the cron cursor's transaction began" \
	org_true cron retail "SELECT started = (SELECT xact_start FROM pg_stat_activity WHERE pid = $CRON_PID) AND running_s >= 0 FROM odoo_retail_guard.odoo_jobs"
ok "the cron cursor holds the vacuum horizon, with an xmin age" org_wait_until 30 "holds horizon" \
	org_true cron retail "SELECT holds_horizon AND xmin_age >= 1 FROM odoo_retail_guard.odoo_jobs"
ok "both waits are counted: on the job connection and on the cron cursor" org_wait_until 30 "blocked 2" \
	org_true cron retail "SELECT blocked_sessions = 2 FROM odoo_retail_guard.odoo_jobs"
ok "the operator's wait is rooted in the cron cursor" \
	org_true cron retail "SELECT bool_or(root_pid = $CRON_PID) FROM odoo_retail_guard.blocking_chains"
ok "a reader without pg_read_all_stats sees the job but not its statement" \
	org_true cron retail "SET ROLE odoo_retail_guard_reader; SELECT job_query IS NULL AND job_id = 42 FROM odoo_retail_guard.odoo_jobs"

# the snapshot carries the same job
snap=$(q "SELECT encode(odoo_retail_guard.snapshot(0), 'base64')" | base64 -d |
	protoc --proto_path=proto --decode=odoo_retail_guard.Snapshot proto/odoo_retail_guard.proto)
job_msg=$(awk '$0 == "cron_jobs {" {inb=1; next} /^}/ {inb=0} inb' <<<"$snap")
is "$(sed -n 's/^  cron_pid: //p' <<<"$job_msg")" "$CRON_PID" "snapshot: cron_pid"
is "$(sed -n 's/^  job_pids: //p' <<<"$job_msg")" "$JOB_PID" "snapshot: job_pids"
is "$(sed -n 's/^  job_id: //p' <<<"$job_msg")" 42 "snapshot: job_id"
is "$(sed -n 's/^  job_model: //p' <<<"$job_msg")" '"stock.quant"' "snapshot: job_model"
is "$(sed -n 's/^  holds_horizon: //p' <<<"$job_msg")" true "snapshot: holds_horizon"
is "$(sed -n 's/^  blocked_sessions: //p' <<<"$job_msg")" 2 "snapshot: blocked_sessions"
is "$(sed -n 's/^  kind: //p' <<<"$job_msg")" '"ir_cron"' "snapshot: kind"
is "$(sed -n 's/^  database: //p' <<<"$job_msg")" '"retail"' "snapshot: database"
ok "snapshot: the job's statement without constants" grep -q '^  job_query: "UPDATE .*\$1' <<<"$job_msg"
ok "the LISTEN connection is no job connection" bash -c "! grep -q 'job_pids: $WAKE_PID\$' <<<'$job_msg'"

# a second cron worker process on Odoo 17.0: its cron cursor's last
# statement is the acquire itself, with the ready job ids as a tuple, here
# one (odoo/addons/base/models/ir_cron.py 17.0 _acquire_one_job, l.~250-267
# as quoted in the reference notes; _process_job cleans the triggers after
# the job)
org_session_open cron17 cron retail odoo-7005 odoo
org_session_send cron17 "BEGIN ISOLATION LEVEL REPEATABLE READ;"
org_session_send cron17 "
            SELECT *
            FROM ir_cron
            WHERE active = true
              AND numbercall != 0
              AND (nextcall <= (now() at time zone 'UTC')
                OR EXISTS (
                    SELECT cron_id
                    FROM ir_cron_trigger
                    WHERE call_at <= (now() at time zone 'UTC')
                      AND cron_id = ir_cron.id
                )
              )
              AND id in (7)
            ORDER BY priority
            LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED
        ;"
org_session_open job17 cron retail odoo-7005 odoo
org_session_send job17 "BEGIN ISOLATION LEVEL REPEATABLE READ;"
org_session_send job17 "UPDATE \"stock_quant\" SET \"quantity\" = 3, \"write_uid\" = 1, \"write_date\" = '2099-12-07 03:00:00' WHERE id IN (3);"
CRON17_PID=$(org_session_pid cron17)
JOB17_PID=$(org_session_pid job17)
ok "a 17.0 worker's job is recognised from its acquire" org_wait_until 30 "17.0 job" \
	org_true cron retail "SELECT job_id = 7 AND job_pids = '{$JOB17_PID}' FROM odoo_retail_guard.odoo_jobs WHERE cron_pid = $CRON17_PID"
is "$(q "SELECT count(*) FROM odoo_retail_guard.odoo_jobs")" 2 "two jobs run, one per worker process"

# ---- origin of destructive events ----
# the job unlinks quants through the ORM (odoo/models.py 17.0 unlink shape)
org_session_send job "DELETE FROM \"stock_quant\" WHERE id IN ($(seq -s, 101 120));"
# and commits its batch on the job cursor (18.0 ir_cron.py: _add_progress -> job_cr.commit()):
# destructive events are journaled at commit; the next batch's transaction follows
org_session_send job "COMMIT;"
org_session_send job "BEGIN ISOLATION LEVEL REPEATABLE READ;"
# Odoo's GC of user logs (odoo/addons/base/models/res_users.py 18.0
# ResUsersLog._gc_user_logs), here run by hand outside any job
q "
            DELETE FROM res_users_log log1 WHERE EXISTS (
                SELECT 1 FROM res_users_log log2
                WHERE log1.create_uid = log2.create_uid
                AND log1.create_date < log2.create_date
            )
        " >/dev/null
# and an operator's delete in psql
q "DELETE FROM stock_quant WHERE id BETWEEN 150 AND 170" >/dev/null
ok "the job's delete is journaled" org_wait_until 30 "job delete event" \
	org_true cron retail "SELECT count(*) = 1 FROM odoo_retail_guard.destructive_events WHERE pid = $JOB_PID"
is "$(q "SELECT origin || ' ' || cron_job_id || ' ' || cron_pid FROM odoo_retail_guard.destructive_events WHERE pid = $JOB_PID")" \
	"cron 42 $CRON_PID" "a delete by a job connection has origin cron, with the job id and the cron cursor"
is "$(q "SELECT origin || ' ' || coalesce(cron_job_id::text, '-') FROM odoo_retail_guard.destructive_events WHERE relation = 'res_users_log'")" \
	"housekeeping -" "Odoo's user-log garbage collection has origin housekeeping"
is "$(q "SELECT origin || ' ' || coalesce(cron_pid::text, '-') FROM odoo_retail_guard.destructive_events WHERE relation = 'stock_quant' AND pid <> $JOB_PID")" \
	"adhoc -" "a psql delete has origin adhoc"
snap=$(q "SELECT encode(odoo_retail_guard.snapshot(0), 'base64')" | base64 -d |
	protoc --proto_path=proto --decode=odoo_retail_guard.Snapshot proto/odoo_retail_guard.proto)
ok "snapshot: the job's event carries origin, job id and cron pid" \
	bash -c "awk '\$0 == \"destructive_events {\" {inb=1; b=\"\"; next} /^}/ {if (inb) print b; inb=0} inb {b = b \$0}' <<<'$snap' |
		grep 'pid: $JOB_PID' | grep 'origin: \"cron\"' | grep 'cron_job_id: 42' | grep -q 'cron_pid: $CRON_PID'"

# ---- the throttle's drain spares the cron cursor ----
# the job goes on with a long computation (one long statement here)
org_session_send job "SELECT pg_sleep(600);"
ok "the job connection is busy" org_wait_until 30 "job active" \
	org_true cron retail "SELECT state = 'active' FROM pg_stat_activity WHERE pid = $JOB_PID"
# another connection of the same process, idle in transaction: drainable
org_session_open idle cron retail "$APP" odoo
org_session_send idle "BEGIN; SELECT 1;"
IDLE_PID=$(org_session_pid idle)
drain_out="$ORG_TMP/drain.out"
q "SELECT odoo_retail_guard.throttle('cron-drain', 50, '10 min', 'drain test',
	application_name => '$APP', database => 'retail', drain_idle_in_transaction => '1 s')" >/dev/null 2>>"$drain_out"
drain_until_gone() { # drain until pid $1 is gone; warnings to $drain_out
	org_psql cron -d retail -At -c "SELECT odoo_retail_guard.drain()" >>"$drain_out" 2>&1
	! org_true cron retail "SELECT count(*) > 0 FROM pg_stat_activity WHERE pid = $1"
}
ok "drain terminates the plain idle-in-transaction session of the process" \
	org_wait_until 30 "idle session drained" drain_until_gone "$IDLE_PID"
ok "the cron cursor of the running job is still there" \
	org_true cron retail "SELECT state = 'idle in transaction' FROM pg_stat_activity WHERE pid = $CRON_PID"
ok "drain warned that it skipped the cron cursor" \
	grep -q 'WARNING:  drain skipped 1 cron cursor(s) of running Odoo jobs' "$drain_out"
is "$(q "SELECT count(*) FROM odoo_retail_guard.throttle_events WHERE kind = 'drained'")" 1 \
	"only the plain session is recorded as drained"

# stopping the job the way the warning says: its job connection ends, and
# the cron cursor is then an ordinary idle session
q "SELECT pg_terminate_backend($JOB_PID)" >/dev/null
ok "without a live job connection the job lists no job_pids" org_wait_until 30 "no job pids" \
	org_true cron retail "SELECT job_pids = '{}' FROM odoo_retail_guard.odoo_jobs WHERE cron_pid = $CRON_PID"
ok "and drain terminates the cron cursor" \
	org_wait_until 30 "cron cursor drained" drain_until_gone "$CRON_PID"

org_sessions_close_all
org_done
