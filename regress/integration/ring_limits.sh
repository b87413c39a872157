#!/usr/bin/env bash
# Ring readers at the GUCs' limits, and gaps after reset().
#  - query_text_length = 65536 with slow_samples = 16400 (and as many
#    destructive events) makes payload_size x capacity more than 1 GB; the
#    readers must still answer, with memory that follows what they return.
#  - reset() and reset_lock_stats() drop unread entries: a reader whose
#    cursor predates them is told there is a gap, a reader past them is not.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ORG_SRC_DIR"
# shellcheck source=../lib/cluster.sh
. regress/lib/cluster.sh
# shellcheck source=../lib/sessions.sh
. regress/lib/sessions.sh

org_harness_init
trap 'rc=$?; org_sessions_close_all; (exit $rc); org_harness_cleanup' EXIT
org_cluster_start limits "
odoo_retail_guard.query_text_length = 65536
odoo_retail_guard.slow_samples = 16400
odoo_retail_guard.destructive_events = 16400
odoo_retail_guard.max_queries = 100
odoo_retail_guard.lock_wait_event_threshold = 0
odoo_retail_guard.lock_sample_interval = 10
"
q() { org_query limits retail "$1"; }
org_psql limits -d postgres -c "CREATE DATABASE retail" >/dev/null
org_psql limits -d retail -c "CREATE EXTENSION odoo_retail_guard" \
	-c "CREATE TABLE stock_quant (id int PRIMARY KEY, quantity numeric)" \
	-c "INSERT INTO stock_quant SELECT g, g FROM generate_series(1, 10) g" \
	-c "CREATE ROLE org_writer LOGIN SUPERUSER" \
	-c "ALTER ROLE org_writer SET odoo_retail_guard.slow_query_ms = 0" >/dev/null
writer() { psql -X -q -h "${ORG_SOCK[limits]}" -p "${ORG_PORT[limits]}" -U org_writer -d retail "$@"; }

ring_bytes=$(q "SELECT (SELECT setting::bigint FROM pg_settings WHERE name = 'odoo_retail_guard.query_text_length')
	* (SELECT setting::bigint FROM pg_settings WHERE name = 'odoo_retail_guard.slow_samples')")
ok "payload x capacity of the slow ring is above 1 GB ($ring_bytes bytes)" test "$ring_bytes" -gt 1073741823

# a few slow statements, one whose normalized text is over 100 kB
long_where=$(seq 1 8000 | sed 's/.*/quantity <> &/' | paste -sd'|' | sed 's/|/ AND /g')
printf '%s\n' "SELECT count(*) FROM stock_quant WHERE quantity > 0;" \
	"SELECT count(*) FROM stock_quant WHERE $long_where;" "SELECT 'a' || 'b';" | writer >/dev/null
writer -c "CREATE TABLE scratch (id int)" -c "DROP TABLE scratch" >/dev/null

out=$(q "SELECT count(*) FROM odoo_retail_guard.slow_query_samples_since(0)" 2>&1)
ok "slow_query_samples_since(0) answers at the limits (got: ${out:0:80})" test "${out:-0}" -ge 3 2>/dev/null
out=$(q "SELECT max(length(query)) FROM odoo_retail_guard.slow_query_samples_since(0)" 2>&1)
ok "a long text comes back truncated to 65536 bytes at most (got: ${out:0:80})" \
	test "${out:-0}" -gt 1000 -a "${out:-0}" -le 65536 2>/dev/null
out=$(q "SELECT count(*) FROM odoo_retail_guard.destructive_events_since(0) WHERE kind = 'drop_table'" 2>&1)
ok "destructive_events_since(0) answers at the limits (got: ${out:0:80})" test "$out" = 1
out=$(q "SELECT length(odoo_retail_guard.snapshot(0)) > 0" 2>&1)
ok "snapshot(0) answers at the limits (got: ${out:0:80})" test "$out" = t
out=$(q "SELECT count(*) FROM odoo_retail_guard.slow_query_samples" 2>&1)
ok "the slow_query_samples view answers at the limits (got: ${out:0:80})" test "${out:-0}" -ge 3 2>/dev/null

# ---- reset(): gap for a reader whose cursor predates the dropped samples ----
before=$(q "SELECT coalesce(min(sample_id), 0) - 1 FROM odoo_retail_guard.slow_query_samples_since(0)")
past=$(q "SELECT max(sample_id) FROM odoo_retail_guard.slow_query_samples_since(0)")
q "SELECT odoo_retail_guard.reset()" >/dev/null
writer -c "SELECT count(*) FROM stock_quant WHERE quantity < 0" >/dev/null
is "$(q "SELECT bool_and(gap) FROM odoo_retail_guard.slow_query_samples_since($before)")" t \
	"reset(): a reader with unread samples sees a gap"
is "$(q "SELECT bool_or(gap) FROM odoo_retail_guard.slow_query_samples_since($past)")" f \
	"reset(): a reader that had read every sample sees no gap"

# ---- reset_lock_stats(): the same for lock wait events ----
lock_wait() { # one finished lock wait, long enough to be sampled
	org_session_send holder "BEGIN; LOCK TABLE stock_quant IN ACCESS EXCLUSIVE MODE; SELECT 'held-$1';"
	org_wait_until 30 "lock held" grep -q "^held-$1" "$ORG_TMP/session-holder.out"
	org_session_send waiter "SELECT 'waited-$1' FROM stock_quant LIMIT 1;"
	org_wait_until 30 "waiter waits" org_true limits retail \
		"SELECT count(*) = 1 FROM pg_locks WHERE NOT granted AND relation = 'stock_quant'::regclass"
	org_wait_until 30 "wait sampled" org_true limits retail \
		"SELECT count(*) > 0 FROM odoo_retail_guard.blocking_chains_internal()"
	org_session_send holder "COMMIT;"
	org_wait_until 30 "waiter done" grep -q "^waited-$1" "$ORG_TMP/session-waiter.out"
}
org_session_open holder limits retail holder
org_session_open waiter limits retail waiter
lock_wait 1
org_wait_until 30 "lock wait event" org_true limits retail \
	"SELECT count(*) > 0 FROM odoo_retail_guard.lock_wait_events_since(0)"
before=$(q "SELECT min(event_id) - 1 FROM odoo_retail_guard.lock_wait_events_since(0)")
past=$(q "SELECT max(event_id) FROM odoo_retail_guard.lock_wait_events_since(0)")
q "SELECT odoo_retail_guard.reset_lock_stats()" >/dev/null
lock_wait 2
org_wait_until 30 "lock wait event after reset" org_true limits retail \
	"SELECT count(*) > 0 FROM odoo_retail_guard.lock_wait_events_since($past)"
is "$(q "SELECT bool_and(gap) FROM odoo_retail_guard.lock_wait_events_since($before)")" t \
	"reset_lock_stats(): a reader with unread events sees a gap"
is "$(q "SELECT bool_or(gap) FROM odoo_retail_guard.lock_wait_events_since($past)")" f \
	"reset_lock_stats(): a reader that had read every event sees no gap"

org_sessions_close_all
org_done
