#!/usr/bin/env bash
# The sampler never stops sampling locks while someone holds pg_database:
# with LOCK pg_database held in one session, its vacuum tick is skipped and
# counted (sampler_status.vacuum_skips) instead of waiting, and a lock wait
# created meanwhile still shows in blocking_chains.
#
# While pg_database is locked no new connection can start (PostgreSQL reads
# pg_database to connect), so every session is opened first and the checks
# run in an open session, waiting server-side with a deadline.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
. "$ORG_SRC_DIR/regress/lib/cluster.sh"
. "$ORG_SRC_DIR/regress/lib/sessions.sh"

org_harness_init
trap 'rc=$?; org_sessions_close_all; (exit $rc); org_harness_cleanup' EXIT

C=catlock
V=odoo_retail_guard
org_cluster_start $C "odoo_retail_guard.vacuum_sample_interval = 200"
org_psql $C -d postgres -c "CREATE DATABASE odoo" >/dev/null
org_psql $C -d odoo >/dev/null <<'SQL'
CREATE EXTENSION odoo_retail_guard;
CREATE TABLE stock_quant (id int PRIMARY KEY, quantity numeric);
INSERT INTO stock_quant SELECT g, 1 FROM generate_series(1, 10) g;
-- true once cond holds, false after secs
CREATE FUNCTION wait_true(cond text, secs float8 DEFAULT 30)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	deadline timestamptz := clock_timestamp() + make_interval(secs => secs);
	ok boolean;
BEGIN
	LOOP
		EXECUTE cond INTO ok;
		IF ok THEN RETURN true; END IF;
		IF clock_timestamp() > deadline THEN RETURN false; END IF;
		PERFORM pg_sleep(0.1);
	END LOOP;
END
$$;
SQL

ok "the sampler runs its vacuum ticks" org_wait_until 30 "vacuum ticks" org_true $C odoo \
	"SELECT pid IS NOT NULL AND vacuum_samples >= 2 AND vacuum_skips = 0 FROM $V.sampler_status"
SPID=$(org_query $C odoo "SELECT pid FROM $V.sampler_status")

org_session_open reader $C odoo psql
org_session_open holder $C odoo psql
org_session_open cron $C odoo odoo-2001-cron
org_session_open pos $C odoo odoo-1001
POS=$(org_session_pid pos)

# ask the reader session; prints its one-line answer (empty after 60 s).
# Called in $(...), so each question is tagged with a fresh id.
ask() {
	local id
	id=a$(date +%s%N)
	org_session_send reader "SELECT '$id=' || ($1);"
	org_wait_until 60 "answer $id" grep -q "^$id=" "${ORG_SESS_OUT[reader]}" || return 0
	sed -n "s/^$id=//p" "${ORG_SESS_OUT[reader]}" | head -1
}

org_session_send holder "BEGIN; LOCK TABLE pg_database IN ACCESS EXCLUSIVE MODE; SELECT 'locked=1';"
org_wait_until 30 "pg_database locked" grep -q '^locked=1' "${ORG_SESS_OUT[holder]}"

# the sampler meets the lock at its next vacuum tick: it either skips it, or
# (the failure this test is about) waits on pg_database
is "$(ask "wait_true(\$\$SELECT vacuum_skips > 0 OR EXISTS (SELECT 1 FROM pg_locks
	WHERE pid = $SPID AND NOT granted) FROM $V.sampler_status\$\$)")" true \
	"the sampler reached a vacuum tick while pg_database is locked"
is "$(ask "(SELECT NOT EXISTS (SELECT 1 FROM pg_locks WHERE pid = $SPID AND NOT granted))")" true \
	"it does not wait for the lock on pg_database"
is "$(ask "(SELECT vacuum_skips > 0 FROM $V.sampler_status)")" true \
	"the skipped vacuum tick is counted in sampler_status.vacuum_skips"

CRON=$(org_session_pid cron)
org_session_send cron "BEGIN; SELECT id FROM stock_quant WHERE id = 3 FOR UPDATE;"
# the cron holds the row once it has a transaction id
ask "wait_true(\$\$SELECT count(*) = 1 FROM pg_locks WHERE pid = $CRON AND locktype = 'transactionid' AND granted\$\$)" >/dev/null
org_session_send pos "BEGIN; SELECT id FROM stock_quant WHERE id = 3 FOR UPDATE;"
is "$(ask "wait_true(\$\$SELECT count(*) = 1 FROM $V.blocking_chains_internal() WHERE waiter_pid = $POS\$\$)")" true \
	"a lock wait created while pg_database is locked shows in blocking_chains"
mark=$(ask "(SELECT lock_samples FROM $V.sampler_status)")
is "$(ask "wait_true(\$\$SELECT lock_samples > ${mark:-0} + 10 FROM $V.sampler_status\$\$)")" true \
	"lock sampling goes on while pg_database stays locked"
skips=$(ask "(SELECT vacuum_skips FROM $V.sampler_status)")
is "$(ask "wait_true(\$\$SELECT vacuum_skips > ${skips:-0} FROM $V.sampler_status\$\$)")" true \
	"every vacuum tick meanwhile is skipped and counted"

org_session_send holder "COMMIT;"
org_session_send cron "COMMIT;"
org_session_send pos "COMMIT;"
ok "vacuum ticks resume once pg_database is free" org_wait_until 30 "scans resume" org_true $C odoo \
	"SELECT count(*) > 0 FROM $V.autovacuum_lag WHERE relation = 'stock_quant' AND scanned_at > now() - interval '5 s'"
ok "the sampler never failed a sample and was never restarted" org_true $C odoo \
	"SELECT errors = 0 AND starts = 1 FROM $V.sampler_status"

org_sessions_close_all
org_done
