#!/usr/bin/env bash
# No catalog access while one of our locks is held: snapshot() resolves
# database and role names, and those lookups may wait on a heavyweight lock
# (here LOCK pg_database).  They must wait outside the queries LWLock, or
# every backend creating a new statement shape waits on that LWLock where
# neither statement_timeout nor the deadlock detector can reach it.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
# shellcheck source=../lib/cluster.sh
. regress/lib/cluster.sh
# shellcheck source=../lib/sessions.sh
. regress/lib/sessions.sh

org_harness_init
trap 'rc=$?; org_sessions_close_all; (exit $rc); org_harness_cleanup' EXIT
org_cluster_start hang
org_psql hang -d postgres -c "CREATE DATABASE retail" >/dev/null
org_psql hang -d postgres -c "CREATE EXTENSION odoo_retail_guard" >/dev/null
org_psql hang -d retail -c "CREATE EXTENSION odoo_retail_guard" \
	-c "CREATE TABLE sale_order (id int PRIMARY KEY, state text)" >/dev/null
# statements of database retail, so a reader in database postgres must look
# its name up (a syscache miss: the backend has never seen it)
org_query hang retail "SELECT count(*) FROM sale_order WHERE state = 'draft'" >/dev/null

# every session is connected before pg_database is locked: a new connection
# reads pg_database too
org_session_open reader hang postgres reader
org_session_open newshape hang retail newshape
org_session_open views hang retail views
org_session_open locker hang postgres locker
org_session_open monitor hang postgres monitor
# the monitor's probe is a known statement shape before anything waits, so
# the probe itself never needs to create an entry
probe() { echo "SELECT 'waiting=' || count(*) FROM pg_locks WHERE pid = $1 AND NOT granted;"; }
org_session_send monitor "$(probe 0)"

org_session_send locker "BEGIN; LOCK TABLE pg_database IN ACCESS EXCLUSIVE MODE; SELECT 'locked';"
org_wait_until 30 "pg_database locked" grep -q '^locked' "$ORG_TMP/session-locker.out"

# the reader's name lookup waits on pg_database; it must stay cancellable
org_session_send reader "SET statement_timeout = '3s'; SELECT length(odoo_retail_guard.snapshot(0)) > 0 AS snapshot_done;"
reader_waits() {
	org_session_send monitor "$(probe "$(org_session_pid reader)")"
	grep -q '^waiting=1' "$ORG_TMP/session-monitor.out"
}
ok "snapshot() waits on the locked pg_database" org_wait_until 30 "reader waits" reader_waits

# a statement shape nobody ran before needs the queries LWLock exclusively
start=$SECONDS
org_session_send newshape "SET statement_timeout = '2s';"
org_session_send newshape "SELECT count(*) AS never_seen_before FROM sale_order s1 JOIN sale_order s2 USING (id) WHERE s1.state <> 'x';"
org_session_send newshape "SELECT 'newshape-done';"
ok "a new statement shape finishes within 10 s while snapshot() waits" \
	org_wait_until 10 "new shape" grep -q '^newshape-done' "$ORG_TMP/session-newshape.out"
echo "# new statement shape took $((SECONDS - start)) s"

# the functions behind the views (the views join pg_database themselves)
org_session_send views "SET statement_timeout = '2s'; SELECT 'n=' || count(*) FROM odoo_retail_guard.query_stats(); SELECT 'n=' || count(*) FROM odoo_retail_guard.model_stats_internal(); SELECT 'n=' || count(*) FROM odoo_retail_guard.slow_query_samples_since(0); SELECT 'n=' || count(*) FROM odoo_retail_guard.memory_internal(); SELECT 'views-done';"
ok "the query stats functions answer while snapshot() waits" \
	org_wait_until 10 "views" grep -q '^views-done' "$ORG_TMP/session-views.out"
is "$(grep -c '^n=' "$ORG_TMP/session-views.out")" 4 "each of them returned, none failed"

ok "statement_timeout cancels the waiting snapshot()" \
	org_wait_until 15 "reader cancelled" grep -q 'canceling statement due to statement timeout' "$ORG_TMP/session-reader.out"

# release: everything that waited must now finish
org_session_send locker "COMMIT; SELECT 'released';"
org_wait_until 30 "newshape after release" grep -q '^newshape-done' "$ORG_TMP/session-newshape.out"
org_session_send reader "RESET statement_timeout; SELECT 'reader-' || (length(odoo_retail_guard.snapshot(0)) > 0);"
ok "snapshot() works once pg_database is released" \
	org_wait_until 30 "reader after release" grep -q '^reader-true' "$ORG_TMP/session-reader.out"

org_sessions_close_all
org_done
