#!/usr/bin/env bash
# demo/run-demo.sh: what `make demo` plays.
#
# Starts a throwaway PostgreSQL 15 primary with odoo_retail_guard preloaded
# and a streaming standby, loads an Odoo-like retail database
# (demo/schema.sql), takes a base backup with the agent's backup runbook,
# plays a short morning of trading with orguard-agent's companion
# generator regress/workload/orguard-workload (one Odoo process per role,
# each with its own application_name odoo-<pid>, Odoo 17's statements),
# starts a local Alertmanager and orguard-agent polling both nodes every
# second, then plays a flash sale with its incidents (a cron holding
# stock_quant rows, a slow posting holding the no-gap invoice sequence, a
# long cron job pinning the vacuum horizon, a mistaken ORM mass unlink of
# sale orders lagging the standby, a cron connection storm answered by the
# agent's throttle runbook), showing the DBA's views and the alerts as they
# fire and resolve, restores the deleted orders side by side with
# `orguard-agent runbook pitr --before-event`, and ends with a summary.
#
# The demo is a list of phases, one function each (DEMO_PHASES below).
#
# Environment:
#   DEMO_SECONDS=15   length of the quiet trading phase
#   DEMO_SLOW_MS=200  odoo_retail_guard.slow_query_ms of the demo cluster
#   DEMO_PANEL=3      seconds between two panels during the flash sale
#   DEMO_KEEP=1       leave the clusters, Alertmanager and the agent running
#                     at the end and print how to connect and how to stop
#                     them (make demo DEMO_KEEP=1); the temp directory is
#                     kept too.  On failure or Ctrl-C everything still stops.
#
# Everything runs on a unix socket and loopback, as an unprivileged user,
# and is stopped on every exit path.
set -euo pipefail

DEMO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ORG_SRC_DIR=$(cd "$DEMO_DIR/.." && pwd)
DEMO_SECONDS=${DEMO_SECONDS:-15}
DEMO_PANEL=${DEMO_PANEL:-3}
DEMO_SLOW_MS=${DEMO_SLOW_MS:-200}
DEMO_KEEP=${DEMO_KEEP:-0}
DEMO_DB=retail
if [ "$DEMO_KEEP" = 1 ]; then
	export ORG_KEEP=1
fi

# shellcheck source=../regress/lib/cluster.sh
. "$ORG_SRC_DIR/regress/lib/cluster.sh"
# shellcheck source=../regress/lib/replica.sh
. "$ORG_SRC_DIR/regress/lib/replica.sh"
# shellcheck source=../regress/lib/runbook_nodes.sh
. "$ORG_SRC_DIR/regress/lib/runbook_nodes.sh"

for tool in psql; do
	command -v "$tool" >/dev/null || org_die "$tool is missing (install postgresql-15)"
done
for tool in prometheus-alertmanager curl python3; do
	command -v "$tool" >/dev/null || org_die "$tool is missing (apt-get install prometheus-alertmanager curl python3)"
done
[ -x "$ORG_SRC_DIR/agent/orguard-agent" ] || org_die "agent/orguard-agent is missing (make agent)"
DEMO_WORKLOAD="$ORG_SRC_DIR/regress/workload/orguard-workload"
[ -x "$DEMO_WORKLOAD" ] || org_die "regress/workload/orguard-workload is missing (make workload)"
case "$DEMO_SECONDS$DEMO_PANEL" in
	'' | *[!0-9]*) org_die "DEMO_SECONDS and DEMO_PANEL must be numbers of seconds" ;;
esac


DEMO_PHASES=(
	"phase_primary|Start a throwaway PostgreSQL 15 with odoo_retail_guard"
	"phase_load|Load the retail database (10 shops, 30 days of trading)"
	"phase_backup|Take a base backup (orguard-agent runbook backup; WAL is archived)"
	"phase_standby|Start a streaming standby"
	"phase_watch|Start Alertmanager and orguard-agent (both nodes, every second)"
	"phase_trading|Play a quiet morning of trading for ${DEMO_SECONDS}s (orguard-workload day: POS, sales, invoicing, bus, cron)"
	"phase_flash_sale|Flash sale: the incidents, as the DBA sees them"
	"phase_restore|Restore the deleted sale orders: orguard-agent runbook pitr --before-event"
	"phase_report|What odoo_retail_guard saw"
	"phase_summary|Summary: detected, acted, alerted"
)

DEMO_PIDS=()
# background services of the demo (Alertmanager, the agent): name -> pid
declare -A DEMO_SVC=()
DEMO_AM_URL=
# flash sale: seconds since the start of the demo of what happened
declare -A DEMO_AT=()
DEMO_T0=$SECONDS
DEMO_FAILED=0

# ---------------------------------------------------------------- output

say() { printf '%s\n' "$*"; }
step() { printf '    %s\n' "$*"; }
banner() {
	printf '\n==== [%s/%s] %s\n' "$1" "$2" "$3"
}

demo_psql() {
	org_psql primary -d "$DEMO_DB" -P pager=off "$@"
}

# ---------------------------------------------------------------- workers

demo_stop_workers() {
	local pid
	[ ${#DEMO_PIDS[@]} -gt 0 ] || return 0
	for pid in "${DEMO_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${DEMO_PIDS[@]}"; do
		if ! org_wait_until 10 "worker $pid to stop" demo_gone "$pid"; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
	DEMO_PIDS=()
}

demo_gone() { ! kill -0 "$1" 2>/dev/null; }

demo_any_alive() {
	local pid
	for pid in "${DEMO_PIDS[@]}"; do
		if kill -0 "$pid" 2>/dev/null; then
			return 0
		fi
	done
	return 1
}

demo_stop_services() {
	local name pid
	for name in "${!DEMO_SVC[@]}"; do
		pid=${DEMO_SVC[$name]}
		kill -TERM "$pid" 2>/dev/null || true
		if ! org_wait_until 10 "$name to stop" demo_gone "$pid"; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
		unset "DEMO_SVC[$name]"
	done
}

demo_cleanup() {
	local rc=$?
	# cleanup must run to the end whatever fails on the way
	set +e
	trap - INT TERM
	demo_stop_workers
	demo_stop_services
	(exit "$rc")
	org_harness_cleanup
}

# ---------------------------------------------------------------- phases

phase_primary() {
	org_harness_init
	trap demo_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	DEMO_WORK=$(org_scratch_dir work)
	org_as_owner mkdir -p "$DEMO_WORK/archive" "$DEMO_WORK/backups"
	# WAL is archived for the point-in-time restore; the journal records
	# DELETEs of more than 500 rows
	org_cluster_start primary "odoo_retail_guard.slow_query_ms = ${DEMO_SLOW_MS}
$(org_archive_conf "$DEMO_WORK/archive")
odoo_retail_guard.destructive_min_rows = 500
wal_receiver_status_interval = 1s
max_connections = 60
shared_buffers = 256MB
log_min_duration_statement = -1"
	step "PostgreSQL $(org_psql primary -d postgres -Atc 'SHOW server_version') on port ${ORG_PORT[primary]}, socket ${ORG_SOCK[primary]}"
	step "odoo_retail_guard.slow_query_ms = ${DEMO_SLOW_MS} (default 500)"
}

phase_load() {
	local t0=$SECONDS rows
	org_psql primary -d postgres -c "CREATE DATABASE $DEMO_DB"
	org_psql primary -d "$DEMO_DB" -c "CREATE EXTENSION odoo_retail_guard"
	# Odoo's own login role (not a superuser: superusers are never throttled)
	org_psql primary -d "$DEMO_DB" -c "CREATE ROLE odoo LOGIN" >/dev/null
	org_psql primary -d "$DEMO_DB" -f "$DEMO_DIR/schema.sql"
	rows=$(org_psql primary -d "$DEMO_DB" -Atc \
		"SELECT sum(reltuples)::bigint FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace")
	# start the views empty: only the trading shows
	org_psql primary -d "$DEMO_DB" -Atc "SELECT odoo_retail_guard.reset()" >/dev/null
	step "database '$DEMO_DB': about $rows rows, $(org_psql primary -d "$DEMO_DB" -Atc \
		"SELECT pg_size_pretty(pg_database_size('$DEMO_DB'))"), loaded in $((SECONDS - t0))s"
}

phase_trading() {
	local trading_t0=$SECONDS pid commits samples next
	local deadline=$((SECONDS + DEMO_SECONDS + 60))
	local commits0
	commits0=$(demo_psql -Atc "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")

	"$DEMO_WORKLOAD" -d "$(org_conn primary) dbname=$DEMO_DB" --seed 7 --stores 10 --seconds "$DEMO_SECONDS" \
		--hours 4 day >"$ORG_TMP/trading.log" 2>&1 &
	pid=$!
	DEMO_PIDS+=("$pid")
	step "orguard-workload day: 10 POS tills, back office, invoicing, websocket bus, cron worker (log $ORG_TMP/trading.log)"

	next=$((SECONDS + 5))
	while demo_any_alive; do
		if [ $SECONDS -ge $deadline ]; then
			demo_stop_workers
			org_die "the workload did not end within $((DEMO_SECONDS + 60))s"
		fi
		if [ $SECONDS -ge $next ]; then
			commits=$(demo_psql -Atc "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()" || echo "$commits0")
			samples=$(demo_psql -Atc "SELECT count(*) FROM odoo_retail_guard.slow_query_samples WHERE database = current_database()" || echo '?')
			step "$(printf '[%3ds/%ds] %7d transactions committed, %3s slow executions sampled' \
				"$((SECONDS - trading_t0))" "$DEMO_SECONDS" "$((commits - commits0))" "$samples")"
			next=$((next + 5))
		fi
		sleep 0.5
	done
	if ! wait "$pid"; then
		DEMO_FAILED=1
		say "    orguard-workload failed:" >&2
		tail -n 5 "$ORG_TMP/trading.log" | sed 's/^/      /' >&2
	fi
	DEMO_PIDS=()
	say ""
	sed 's/^/  /' "$ORG_TMP/trading.log"
	step "retried = 40001/55P03 retried the way Odoo retries a request (REPEATABLE READ, odoo/service/model.py)"
}

phase_report() {
	say ""
	say "  Top Odoo models by total time (odoo_retail_guard.model_stats):"
	demo_psql <<'SQL'
SELECT model, operation, calls, round(total_ms) AS total_ms, round(mean_ms, 2) AS mean_ms,
       round(p95_ms, 2) AS p95_ms, round(max_ms) AS max_ms, slow_calls
FROM odoo_retail_guard.model_stats
WHERE database = current_database()
ORDER BY total_ms DESC
LIMIT 15;
SQL
	say "  The same time per Odoo worker class (odoo_retail_guard.slow_queries):"
	demo_psql <<'SQL'
WITH per_model AS (
	SELECT worker_class, model, sum(total_ms) AS model_ms,
	       row_number() OVER (PARTITION BY worker_class ORDER BY sum(total_ms) DESC) AS rank
	FROM odoo_retail_guard.slow_queries
	WHERE database = current_database()
	GROUP BY worker_class, model)
SELECT q.worker_class, count(*) AS statements, sum(q.calls) AS calls, round(sum(q.total_ms)) AS total_ms,
       sum(q.slow_calls) AS slow_calls,
       (SELECT m.model FROM per_model m WHERE m.worker_class = q.worker_class AND m.rank = 1) AS busiest_model
FROM odoo_retail_guard.slow_queries q
WHERE q.database = current_database()
GROUP BY q.worker_class
ORDER BY total_ms DESC;
SQL
	say "  Latest slow executions, ${DEMO_SLOW_MS} ms and more (odoo_retail_guard.slow_query_samples):"
	demo_psql <<'SQL'
SELECT sample_time::time(0) AS at, application_name, worker_class, round(duration_ms) AS ms,
       model, operation, rows, left(regexp_replace(query, '\s+', ' ', 'g'), 60) AS query
FROM odoo_retail_guard.slow_query_samples
WHERE database = current_database()
ORDER BY sample_id DESC
LIMIT 8;
SQL
	say "  Shared memory (odoo_retail_guard.memory):"
	demo_psql -c "SELECT area, capacity, used, evicted FROM odoo_retail_guard.memory ORDER BY area"
}

# ---------------------------------------------------------------- standby, watchers

demo_runbook() { # the agent's runbooks, as the cluster owner (they read and write its files)
	org_as_owner "$ORG_SRC_DIR/agent/orguard-agent" -c "$DEMO_WORK/runbook.conf" runbook "$@"
}

phase_backup() {
	local t0=$SECONDS
	org_as_owner tee "$DEMO_WORK/runbook.conf" >/dev/null <<EOF2
[agent]
spool_dir = $DEMO_WORK/spool

[node primary]
conninfo = $(org_conn primary) dbname=$DEMO_DB
cluster = retail-demo

[runbook pitr]
node = primary
backup_dir = $DEMO_WORK/backups
archive_dir = $DEMO_WORK/archive
journal = $DEMO_WORK/pitr.journal
bin_dir = $ORG_BINDIR
restore_socket_dir = $DEMO_WORK
archive_timeout = 30s
start_timeout = 60s
recovery_timeout = 180s
check_query = SELECT count(*) = 20000 FROM sale_order
EOF2
	demo_runbook backup >"$ORG_TMP/backup.log" 2>&1 || { cat "$ORG_TMP/backup.log" >&2; org_die "the backup runbook failed"; }
	step "base backup in $DEMO_WORK/backups ($(du -sh "$DEMO_WORK/backups" | cut -f1)), WAL archived to $DEMO_WORK/archive, in $((SECONDS - t0))s"
}

phase_standby() {
	# pg_basebackup waits for a spread checkpoint: flush the load first
	org_psql primary -d postgres -c "CHECKPOINT" >/dev/null
	org_standby_start standby1 primary
	org_standby_wait_streaming standby1 primary 60 || org_die "the standby does not stream"
	step "standby1 streams from the primary over 127.0.0.1 (slot standby1), port ${ORG_PORT[standby1]}, socket ${ORG_SOCK[standby1]}"
}

# demo_svc NAME CMD...: a background service of the demo, stopped on exit
demo_svc() {
	local name=$1
	shift
	"$@" >>"$ORG_TMP/$name.log" 2>&1 &
	DEMO_SVC[$name]=$!
}

demo_http_ok() { curl -fsS --max-time 2 -o /dev/null "$1"; }

phase_watch() {
	local am_port metrics_port conf="$ORG_TMP/agent.conf"
	am_port=$(org_free_port)
	mkdir -p "$ORG_TMP/alertmanager"
	printf 'route:\n  receiver: "null"\n  group_wait: 1s\nreceivers:\n  - name: "null"\n' >"$ORG_TMP/alertmanager/am.yml"
	demo_svc alertmanager prometheus-alertmanager --config.file="$ORG_TMP/alertmanager/am.yml" \
		--storage.path="$ORG_TMP/alertmanager/data" --web.listen-address="127.0.0.1:$am_port" \
		--cluster.listen-address=
	DEMO_AM_URL="http://127.0.0.1:$am_port"
	org_wait_until 60 "Alertmanager ready" demo_http_ok "$DEMO_AM_URL/-/ready" || org_die "Alertmanager did not start"
	step "Alertmanager $DEMO_AM_URL (receiver \"null\": alerts are kept, shown by its API)"

	metrics_port=$(org_free_port)
	DEMO_METRICS_URL="http://127.0.0.1:$metrics_port/metrics"
	# demo thresholds: seconds instead of the pack's minutes and hours
	cat >"$conf" <<EOF2
[agent]
interval = 1s
node_timeout = 900ms
spool_dir = $ORG_TMP/spool
listen = 127.0.0.1:$metrics_port

[node primary]
conninfo = $(org_conn primary) dbname=$DEMO_DB
cluster = retail-demo
store = 0001

[node standby1]
conninfo = $(org_conn standby1) dbname=$DEMO_DB
cluster = retail-demo
store = 0001

[pager alertmanager]
type = alertmanager
url = $DEMO_AM_URL
alert_ttl = 30s

[rule lock_wait]
threshold = 3s
clear = 1s
for = 0

[rule idle_in_transaction]
threshold = 8s
clear = 1s
for = 0

[rule vacuum_horizon]
threshold = 10s
clear = 5s
for = 0

# on a standby the replay delay keeps growing while the primary commits
# nothing (an idle demo), so the lag is alerted in bytes only
[rule replication_lag_seconds]
enabled = false

[rule replication_lag_bytes]
threshold = 1MB
clear = 256kB
for = 0

[rule destructive_event]
keep_firing_for = 10s

[rule slow_query_p95]
enabled = false

# the cron storm fills the connection slots: the throttle runbook caps the
# cron class on the primary's Odoo database while this fires, and releases
# release_after it has cleared
[rule connection_usage]
threshold = 50%
clear = 45%
for = 0
runbook = throttle

[runbook throttle]
journal = $ORG_TMP/runbooks.journal
classes = cron
max_connections = 2
ttl = 2m
release_after = 20s
EOF2
	"$ORG_SRC_DIR/agent/orguard-agent" --config "$conf" check-config >"$ORG_TMP/agent-check.log" 2>&1 ||
		{ cat "$ORG_TMP/agent-check.log" >&2; org_die "agent configuration rejected"; }
	demo_svc agent "$ORG_SRC_DIR/agent/orguard-agent" --config "$conf" run
	org_wait_until 30 "the agent polling both nodes" demo_agent_polls || org_die "the agent does not poll (see $ORG_TMP/agent.log)"
	step "orguard-agent polls primary and standby1 every 1 s ($conf), /metrics on $DEMO_METRICS_URL"
	step "demo rule thresholds: lock_wait 3 s, idle_in_transaction 8 s, vacuum_horizon 10 s, replication_lag_bytes 1 MB, destructive_event (any), connection_usage 50 % (runs the throttle runbook: cron capped at 2)"
}

demo_agent_polls() {
	grep -q "node primary: polling snapshots" "$ORG_TMP/agent.log" &&
		grep -q "node standby1: polling snapshots" "$ORG_TMP/agent.log"
}

# ---------------------------------------------------------------- flash sale

demo_t() { echo $((SECONDS - DEMO_T0)); }

# demo_session NAME APPNAME ROLE SQL: a psql session in the background
# playing SQL (may contain "\! sleep N" to sit idle in transaction)
demo_session() {
	local name=$1 app=$2 role=$3 sql=$4
	printf '%s\n' "$sql" >"$ORG_TMP/session-$name.sql"
	PGAPPNAME=$app psql -X -q -v ON_ERROR_STOP=1 -h "${ORG_SOCK[primary]}" -p "${ORG_PORT[primary]}" \
		-U "$role" -d "$DEMO_DB" -f "$ORG_TMP/session-$name.sql" >"$ORG_TMP/session-$name.log" 2>&1 &
	DEMO_PIDS+=($!)
}

demo_count() { demo_psql -Atc "$1" 2>/dev/null || echo 0; }

# the alerts as the agent raises and resolves them (its log), each one also
# posted to Alertmanager
demo_alerts_poll() {
	python3 "$DEMO_DIR/alerts_watch.py" "$ORG_TMP/alerts.json" "$ORG_TMP/agent.log" "$(demo_t)" |
		sed 's/^/    ALERT /' || true
}

demo_am_count() { # number of alerts Alertmanager holds as active
	curl -fsS --max-time 2 "$DEMO_AM_URL/api/v2/alerts?active=true" 2>/dev/null |
		python3 -c 'import json,sys; print(sum(1 for a in json.load(sys.stdin) if a["status"]["state"] == "active"))' ||
		echo '?'
}

demo_am_active() { # ALERTNAME: an active alert of that name in Alertmanager
	curl -fsS --max-time 2 -G "$DEMO_AM_URL/api/v2/alerts" --data-urlencode active=true \
		--data-urlencode "filter=alertname=\"$1\"" 2>/dev/null | grep -q '"state":"active"'
}

demo_all_resolved() { # every alert the agent raised has resolved
	[ "$(grep -c 'alert firing' "$ORG_TMP/agent.log")" -eq "$(grep -c 'alert resolved' "$ORG_TMP/agent.log")" ]
}

demo_panel() {
	say "    ---- t=$(demo_t)s -------------------------------------------------------------"
	demo_psql -At -F ' ' <<'SQL' 2>"$ORG_TMP/panel.err" | sed 's/^/    /' || true
SELECT 'pos      | ' || (SELECT count(*) FROM pos_order WHERE create_date > (now() at time zone 'UTC') - interval '10 min') || ' POS orders in the last 10 min, '
	|| (SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'odoo-cron-%') || ' cron connection(s)'
UNION ALL
SELECT 'locks    | ' || coalesce((SELECT string_agg(format('%s waits %s s on %s <- root %s (%s)', waiter_application_name,
		round(wait_ms::numeric / 1000, 1), coalesce(model, relation::text, lock_type::text), root_application_name, root_state), '; ')
	FROM (SELECT * FROM odoo_retail_guard.blocking_chains WHERE database = current_database() ORDER BY wait_ms DESC LIMIT 3) b), 'no lock waits')
UNION ALL
SELECT 'horizon  | ' || coalesce((SELECT format('oldest %s %s (%s) for %s s, xmin age %s', holder_kind, coalesce(application_name, name, ''), coalesce(state, ''), age_s, xmin_age)
	FROM odoo_retail_guard.vacuum_horizon ORDER BY age_s DESC NULLS LAST LIMIT 1), 'no horizon holder')
	|| coalesce((SELECT format('; bus_bus %s dead tuples%s', dead_tuples, CASE WHEN over_threshold THEN format(', over the autovacuum threshold for %s s', lag_s) ELSE '' END)
	FROM odoo_retail_guard.autovacuum_lag WHERE database = current_database() AND relation::text = 'bus_bus'), '')
UNION ALL
SELECT 'replica  | ' || coalesce((SELECT string_agg(format('%s %s, replay lag %s, %s s', application_name, state, pg_size_pretty(replay_lag_bytes), round(replay_age_ms::numeric / 1000, 1)), '; ')
	FROM odoo_retail_guard.replication_lag), 'no standby')
UNION ALL
SELECT 'throttle | ' || coalesce((SELECT string_agg(format('rule %s: %s/%s open, %s refused', name, current_connections, max_connections, refused), '; ')
	FROM odoo_retail_guard.throttle_rules), 'no rule')
UNION ALL
SELECT 'journal  | ' || coalesce((SELECT string_agg(format('%s %s %s rows by %s at %s', kind, relation, rows, application_name, event_time::time(0)), '; ')
	FROM odoo_retail_guard.destructive_events WHERE database = current_database()), 'no destructive statement')
UNION ALL
SELECT 'models   | ' || coalesce((SELECT string_agg(format('%s %s %s ms', model, operation, round(total_ms)), ', ')
	FROM (SELECT * FROM odoo_retail_guard.model_stats WHERE database = current_database() ORDER BY total_ms DESC LIMIT 4) m), '');
SQL
	if [ -s "$ORG_TMP/panel.err" ]; then
		sed -n 's/^/    (panel: /; s/$/)/; 1p' "$ORG_TMP/panel.err"
	fi
}

# demo_until T: keep the panel and the alerts going until T seconds into the sale
demo_until() {
	local until=$1
	while [ $((SECONDS - DEMO_SALE_T0)) -lt "$until" ]; do
		demo_alerts_poll
		if [ $SECONDS -ge "$DEMO_NEXT_PANEL" ]; then
			demo_panel
			DEMO_NEXT_PANEL=$((SECONDS + DEMO_PANEL))
		fi
		sleep 1
	done
}

# demo_until_cond SECS DESC CMD...: the same, until CMD succeeds or SECS pass
demo_until_cond() {
	local secs=$1 desc=$2 end
	shift 2
	end=$((SECONDS + secs))
	while ! "$@"; do
		if [ $SECONDS -ge $end ]; then
			step "(no $desc within ${secs}s)"
			return 1
		fi
		demo_alerts_poll
		if [ $SECONDS -ge "$DEMO_NEXT_PANEL" ]; then
			demo_panel
			DEMO_NEXT_PANEL=$((SECONDS + DEMO_PANEL))
		fi
		sleep 1
	done
}

demo_event() { # KEY TEXT: a scenario step, with its time since the start of the demo
	DEMO_AT[$1]=$(demo_t)
	say "  >> t=$(demo_t)s $2"
}

demo_throttle_engaged() { grep -q '"step":"engage",[^}]*"result":"ok"' "$ORG_TMP/runbooks.journal" 2>/dev/null; }
demo_throttle_released() { grep -q '"step":"release",[^}]*"result":"ok"' "$ORG_TMP/runbooks.journal" 2>/dev/null; }
demo_throttle_rules() {
	demo_psql -Atc "SELECT coalesce(string_agg(format('%s (%s, at most %s)', name, worker_class, max_connections), ', '), 'none') FROM odoo_retail_guard.throttle_rules"
}

demo_storm_loop() { # APP END_SECONDS: connect, work 2 s, disconnect, again
	local app=$1 end=$2
	while [ $SECONDS -lt "$end" ]; do
		if PGAPPNAME=$app psql -X -q -h "${ORG_SOCK[primary]}" -p "${ORG_PORT[primary]}" -U odoo -d "$DEMO_DB" \
			-Atc "SELECT pg_sleep(2)" >/dev/null 2>"$ORG_TMP/storm-$app.err"; then
			echo "$app connected"
		else
			echo "$app refused: $(grep -o 'connection refused by throttle rule.*' "$ORG_TMP/storm-$app.err" | head -n 1)"
			sleep 0.3
		fi
	done
}

demo_paused() {
	[ "$(org_psql standby1 -d "$DEMO_DB" -Atc "SELECT pg_get_wal_replay_pause_state()")" = paused ]
}

phase_flash_sale() {
	local conn_args=(-h "${ORG_SOCK[primary]}" -p "${ORG_PORT[primary]}" -U postgres)
	local sale_len=64 spec name app script clients i quant_ids
	DEMO_SALE_T0=$SECONDS
	DEMO_NEXT_PANEL=$SECONDS
	say "  10:00, the flash sale opens: POS bursts in every shop, the bus churns."
	"$DEMO_WORKLOAD" -d "$(org_conn primary) dbname=$DEMO_DB" --seed 8 --stores 10 --seconds "$sale_len" \
		--hours 2 day >"$ORG_TMP/sale.log" 2>&1 &
	DEMO_PIDS+=($!)
	step "orguard-workload day: 10 POS tills, back office, invoicing, websocket bus, cron worker for ${sale_len}s"
	demo_until 3

	# 1. the stock scheduler holds shop 1's quants, idle in transaction
	quant_ids=$(demo_count "SELECT string_agg(id::text, ',') FROM (SELECT id FROM stock_quant WHERE location_id = 8 ORDER BY product_id LIMIT 20) q")
	demo_session cron-quants odoo-cron-2101 postgres "BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT id FROM stock_quant WHERE id IN ($quant_ids) ORDER BY id FOR NO KEY UPDATE;
\\! sleep 16
COMMIT;"
	org_wait_until 10 "the cron holding the quants" demo_idle_in_xact odoo-cron-2101 || org_die "the cron did not take the quants"
	demo_session pos-wait odoo-1101 postgres "UPDATE stock_quant SET quantity = quantity - 1, write_date = now() at time zone 'UTC' WHERE id = ${quant_ids%%,*};"
	demo_session pos-wait2 odoo-1102 postgres "UPDATE stock_quant SET quantity = quantity - 2, write_date = now() at time zone 'UTC' WHERE id = ${quant_ids%%,*};"
	demo_event quants "scheduler cron odoo-cron-2101 holds 20 stock_quant rows of SHOP01 idle in transaction (16 s); POS odoo-1101, odoo-1102 wait"
	demo_until 6

	# 2. a slow posting holds the no-gap invoice sequence
	demo_session posting odoo-1201 postgres "BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT number_next FROM ir_sequence WHERE id = 12 FOR UPDATE;
\\! sleep 12
UPDATE ir_sequence SET number_next = number_next + 1 WHERE id = 12;
COMMIT;"
	org_wait_until 10 "the posting holding ir_sequence 12" demo_idle_in_xact odoo-1201 || org_die "the posting did not take the sequence"
	demo_session invoice-wait odoo-1202 postgres "BEGIN;
SELECT number_next FROM ir_sequence WHERE id = 12 FOR UPDATE;
UPDATE ir_sequence SET number_next = number_next + 1 WHERE id = 12;
COMMIT;"
	demo_event sequence "slow invoice posting odoo-1201 holds the no_gap ir_sequence 12 (12 s); the next posting odoo-1202 waits"
	demo_until 9

	# 3. a long cron job pins the xmin horizon while bus_bus churns: its
	# cron cursor holds the ir_cron row and a REPEATABLE READ snapshot for
	# the whole job (Odoo's cron protocol)
	"$DEMO_WORKLOAD" -d "$(org_conn primary) dbname=$DEMO_DB" cron-job "Procurement: run scheduler" 28 \
		>"$ORG_TMP/cron-job.log" 2>&1 &
	DEMO_PIDS+=($!)
	demo_event horizon "the stock scheduler cron job runs 28 s: its cron cursor sits idle in transaction on its ir_cron row (REPEATABLE READ) while bus_bus churns"
	demo_until 24

	# 4. a bulk cleanup while the standby's replay is paused
	org_psql standby1 -d "$DEMO_DB" -Atc "SELECT pg_wal_replay_pause()" >/dev/null
	org_wait_until 10 "replay paused" demo_paused || org_die "the standby did not pause"
	demo_event pause "standby1: pg_wal_replay_pause() (a standby busy replaying a backlog)"
	"$DEMO_WORKLOAD" -d "$(org_conn primary) dbname=$DEMO_DB" mass-unlink sale.order 5000 >"$ORG_TMP/unlink.log" 2>&1 ||
		step "(the mass unlink failed: $(tail -n 1 "$ORG_TMP/unlink.log"))"
	demo_event cleanup "a mistaken server action: env['sale.order'].search([], limit=5000).unlink(), five 1000-id DELETE batches in one transaction"
	demo_until_cond 20 "replication lag alert" demo_am_active replication_lag_bytes || true
	demo_until 36
	org_psql standby1 -d "$DEMO_DB" -Atc "SELECT pg_wal_replay_resume()" >/dev/null
	demo_event resume "standby1: pg_wal_replay_resume(), the standby catches up"
	demo_until 38

	# 5. a connection storm of cron workers: connection_usage fires and the
	# agent's throttle runbook caps the cron class
	for i in $(seq 10 29); do
		demo_storm_loop "odoo-cron-40$i" $((DEMO_SALE_T0 + 58)) >"$ORG_TMP/storm-$i.log" &
		DEMO_PIDS+=($!)
	done
	demo_event storm "connection storm: 20 cron workers odoo-cron-4010..4029 connect and reconnect"
	if demo_until_cond 20 "the agent's throttle runbook engages" demo_throttle_engaged; then
		demo_event throttle "orguard-agent: connection_usage fired, throttle runbook engaged: $(demo_throttle_rules)"
	else
		say "  (the throttle runbook did not engage within 20 s: see $ORG_TMP/agent.log)"
	fi
	demo_until 46
	# a POS terminal connects as the same role during the storm
	DEMO_POS_OK=0
	for i in 1 2 3 4 5; do
		if PGAPPNAME=odoo-1401 psql -X -q -h "${ORG_SOCK[primary]}" -p "${ORG_PORT[primary]}" -U odoo -d "$DEMO_DB" -Atc "SELECT 1" >/dev/null 2>&1; then
			DEMO_POS_OK=$((DEMO_POS_OK + 1))
		fi
	done
	step "POS odoo-1401 (role odoo, like the cron workers): $DEMO_POS_OK of 5 connections accepted during the storm"
	demo_until $((sale_len + 1))

	say "  The flash sale is over; waiting for the workers and for the alerts to resolve."
	demo_stop_workers_wait 30
	demo_until_cond 40 "the throttle released" demo_throttle_released || true
	demo_until_cond 30 "all alerts resolved" demo_all_resolved || true
	demo_panel
}

phase_restore() {
	local event port t0=$SECONDS out rc restored live
	# the first journaled batch of the mass unlink: restore to just before it
	event=$(demo_count "SELECT event_id FROM odoo_retail_guard.destructive_events
		WHERE database = current_database() AND kind = 'delete' AND relation::text LIKE '%sale_order'
		ORDER BY lsn_before LIMIT 1")
	if [ -z "$event" ] || [ "$event" = 0 ]; then
		DEMO_FAILED=1
		say "  the journal shows no DELETE on sale_order: nothing to restore" >&2
		return 0
	fi
	step "destructive_events: $(demo_count "SELECT format('event %s: %s %s, %s rows, by %s, lsn_before %s', event_id, kind, relation, rows, application_name, lsn_before)
		FROM odoo_retail_guard.destructive_events WHERE event_id = $event")"
	port=$(org_free_port)
	step "orguard-agent runbook pitr --before-event $event --restore-dir $DEMO_WORK/restored --restore-port $port"
	out=$(demo_runbook pitr --before-event "$event" --restore-dir "$DEMO_WORK/restored" --restore-port "$port" 2>&1)
	rc=$?
	[ -d "$DEMO_WORK/restored" ] && org_adopt_cluster restored "$DEMO_WORK/restored" "$DEMO_WORK" "$port"
	printf '%s\n' "$out" | tail -n 6 | sed 's/^/      /'
	if [ $rc -ne 0 ]; then
		DEMO_FAILED=1
		say "  the pitr runbook failed (exit $rc), journal $DEMO_WORK/pitr.journal" >&2
		return 0
	fi
	restored=$(psql -X -h "$DEMO_WORK" -p "$port" -U postgres -d "$DEMO_DB" -Atc "SELECT count(*) FROM sale_order" 2>/dev/null || echo '?')
	live=$(demo_count "SELECT count(*) FROM sale_order")
	DEMO_RESTORED="event $event restored side by side in $((SECONDS - t0))s: sale_order has $restored rows there, $live on the primary (psql -h $DEMO_WORK -p $port -U postgres $DEMO_DB)"
	step "$DEMO_RESTORED"
}

demo_idle_in_xact() {
	[ "$(demo_count "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$1' AND state = 'idle in transaction'")" -ge 1 ]
}

demo_stop_workers_wait() { # SECS: let the workers end on their own, then stop them
	local end=$((SECONDS + $1))
	while demo_any_alive && [ $SECONDS -lt $end ]; do
		demo_alerts_poll
		sleep 1
	done
	demo_stop_workers
	DEMO_SALE_FAILED=
	if grep -q 'failed' "$ORG_TMP/sale.log"; then
		DEMO_SALE_FAILED=" orguard-workload"
	fi
}

phase_summary() {
	local alerts refused pos_tx
	say "  Timeline (seconds since the start of the demo):"
	for key in quants sequence horizon pause cleanup resume storm throttle; do
		[ -n "${DEMO_AT[$key]:-}" ] && printf '    t=%3ss  %s\n' "${DEMO_AT[$key]}" "$key"
	done
	say ""
	say "  Alerts raised by orguard-agent (fired at, resolved at: seconds since the start; node/rule/subject):"
	python3 "$DEMO_DIR/alerts_watch.py" "$ORG_TMP/alerts.json" --summary | sed 's/^/    /'
	alerts=$(python3 -c 'import json,sys,collections
s=json.load(open(sys.argv[1]))
c=collections.Counter(k.split("/")[1] for k in s["order"])
print(", ".join("%s %d" % kv for kv in sorted(c.items())) or "none")' "$ORG_TMP/alerts.json" 2>/dev/null || echo none)
	say "    by rule: $alerts"
	say "    where they went: Alertmanager $DEMO_AM_URL/api/v2/alerts, $(grep -c 'alert firing' "$ORG_TMP/agent.log") firing and $(grep -c 'alert resolved' "$ORG_TMP/agent.log") resolved notifications posted, $(ls "$ORG_TMP/spool/alertmanager" 2>/dev/null | wc -l) left in the spool; $(demo_am_count) still active there now (a firing alert expires there after alert_ttl = 30s)"
	say "    agent log: $ORG_TMP/agent.log"
	say ""
	say "  Detected by the extension:"
	demo_psql -At -F ' | ' <<'SQL' | sed 's/^/    /'
SELECT 'lock waits sampled (lock_wait_events): ' || count(*) || ', models: ' || coalesce(string_agg(DISTINCT model, ', '), '-')
FROM odoo_retail_guard.lock_wait_events
UNION ALL
SELECT 'destructive_events: ' || coalesce(string_agg(format('%s %s, %s rows, by %s (%s)', kind, relation, rows, application_name, role), '; '), 'none')
FROM odoo_retail_guard.destructive_events WHERE database = current_database()
UNION ALL
SELECT 'throttle_events: ' || coalesce(string_agg(format('%s %s', n, kind), ', '), 'none')
FROM (SELECT kind, count(*) AS n FROM odoo_retail_guard.throttle_events GROUP BY kind ORDER BY kind) e;
SQL
	refused=$(cat "$ORG_TMP"/storm-*.log 2>/dev/null | grep -c refused || true)
	say "    cron storm: $(cat "$ORG_TMP"/storm-*.log 2>/dev/null | grep -c connected || true) cron connections accepted, $refused refused (SQLSTATE 53300, \"connection refused by throttle rule\"); POS during the storm: ${DEMO_POS_OK:-0}/5 accepted"
	pos_tx=$(awk '/pos till/ { for (i = 1; i <= NF; i++) if ($(i + 1) == "orders,") o += $i; else if ($(i + 1) == "retried,") r += $i } END { printf "%d (%d retried after 40001/55P03)", o, r }' "$ORG_TMP/sale.log")
	say "    POS orders during the flash sale: ${pos_tx:-?}"
	if [ -n "${DEMO_SALE_FAILED:-}" ]; then
		say "    workers failed in:${DEMO_SALE_FAILED} (see $ORG_TMP/sale.log)"
	fi
	say ""
	say "  Restored by orguard-agent's pitr runbook: ${DEMO_RESTORED:-nothing}"

	say ""
	say "  Actions taken by orguard-agent's throttle runbook (its journal, $ORG_TMP/runbooks.journal):"
	python3 -c 'import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    print("    %s  %-8s %-10s %-8s %s" % (e["time"][11:19], e["step"], e["target"], e["result"], e["detail"]))' \
		"$ORG_TMP/runbooks.journal" 2>/dev/null || say "    none"
}

# DEMO_KEEP=1, after a successful run: take the clusters off the harness's
# stop list and forget Alertmanager and the agent, so they keep running, and
# say how to reach and stop them.
demo_keep() {
	local name stop=() owner=
	if [ "$(id -u)" -eq 0 ]; then
		owner="runuser -u postgres -- "
	fi
	for name in standby1 primary; do
		stop+=("${owner}$ORG_BINDIR/pg_ctl -D ${ORG_DATA[$name]} -m fast stop")
	done
	ORG_CLUSTERS=()
	say ""
	say "DEMO_KEEP=1: the clusters, Alertmanager and the agent keep running."
	say "  primary           psql -h ${ORG_SOCK[primary]} -p ${ORG_PORT[primary]} -U postgres $DEMO_DB"
	say "  standby1          psql -h ${ORG_SOCK[standby1]} -p ${ORG_PORT[standby1]} -U postgres $DEMO_DB"
	say "  then try          SELECT * FROM odoo_retail_guard.model_stats ORDER BY total_ms DESC;"
	say "  Alertmanager      $DEMO_AM_URL  (curl -s $DEMO_AM_URL/api/v2/alerts)"
	say "  agent             $DEMO_METRICS_URL, log $ORG_TMP/agent.log, config $ORG_TMP/agent.conf"
	say "  stop them         kill ${DEMO_SVC[agent]} ${DEMO_SVC[alertmanager]}"
	say "                    ${stop[0]}"
	say "                    ${stop[1]}"
	say "  and clean up      rm -rf $ORG_TMP"
	DEMO_SVC=()
}

# ---------------------------------------------------------------- main

say "odoo_retail_guard demo: a retail Odoo database, a standby, the agent and Alertmanager, through a flash sale"
say "(throwaway clusters in a temp directory, loopback only; everything is stopped at the end)"

n=${#DEMO_PHASES[@]}
i=0
for phase in "${DEMO_PHASES[@]}"; do
	i=$((i + 1))
	banner "$i" "$n" "${phase#*|}"
	t_phase=$SECONDS
	"${phase%%|*}"
	step "($((SECONDS - t_phase))s)"
done

if [ "$DEMO_FAILED" -ne 0 ]; then
	org_die "some workers failed (see above)"
fi

say ""
say "demo finished in $((SECONDS - DEMO_T0))s"
if [ "$DEMO_KEEP" = 1 ]; then
	demo_keep
fi
