#!/usr/bin/env bash
# demo/run-demo.sh: what `make demo` plays.
#
# Starts a throwaway PostgreSQL 15 with odoo_retail_guard preloaded, loads an
# Odoo-like retail database (demo/schema.sql), plays a short day of trading
# with pgbench (one pgbench per Odoo worker, each with its own
# application_name, scripts in demo/workload/), then shows what the extension
# attributed: time per Odoo model, the latest slow executions, memory use.
#
# The demo is a list of phases, one function each (DEMO_PHASES below), so
# incidents (a standby, lock waits, a connection storm, alerts) are added as
# phases of their own.
#
# Environment:
#   DEMO_SECONDS=35   length of the trading phase
#   DEMO_SLOW_MS=200  odoo_retail_guard.slow_query_ms of the demo cluster
#   DEMO_KEEP=1       leave the cluster running at the end and print how to
#                     connect (make demo DEMO_KEEP=1); the temp directory is
#                     kept too.  On failure or Ctrl-C everything still stops.
#
# Everything runs on a unix socket and loopback, as an unprivileged user,
# and is stopped on every exit path.
set -euo pipefail

DEMO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ORG_SRC_DIR=$(cd "$DEMO_DIR/.." && pwd)
DEMO_SECONDS=${DEMO_SECONDS:-35}
DEMO_SLOW_MS=${DEMO_SLOW_MS:-200}
DEMO_KEEP=${DEMO_KEEP:-0}
DEMO_DB=retail
if [ "$DEMO_KEEP" = 1 ]; then
	export ORG_KEEP=1
fi

# shellcheck source=../regress/lib/cluster.sh
. "$ORG_SRC_DIR/regress/lib/cluster.sh"

for tool in pgbench psql; do
	command -v "$tool" >/dev/null || org_die "$tool is missing (install postgresql-15)"
done
case "$DEMO_SECONDS" in
	'' | *[!0-9]*) org_die "DEMO_SECONDS must be a number of seconds" ;;
esac

# The Odoo workers of the shop: name | application_name | script | clients.
# Odoo names its connections odoo-<pid>; the cron worker uses a role word
# (ODOO_PGAPPNAME=odoo-cron-{pid}).
DEMO_WORKERS=(
	"pos|odoo-1001|pos_order.sql|2"
	"stock|odoo-1002|stock_move.sql|1"
	"sales|odoo-1003|sale_read.sql|2"
	"invoicing|odoo-1004|invoice_post.sql|1"
	"report|odoo-1005|report.sql|1"
	"cron|odoo-cron-2001|cron.sql|1"
	"bus|odoo-3001|bus_poll.sql|1"
)

DEMO_PHASES=(
	"phase_primary|Start a throwaway PostgreSQL 15 with odoo_retail_guard"
	"phase_load|Load the retail database (10 shops, 30 days of trading)"
	"phase_trading|Play a day of trading for ${DEMO_SECONDS}s (POS, stock, sales, invoicing, cron, bus, reports)"
	"phase_report|What odoo_retail_guard saw"
)

DEMO_PIDS=()
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
		if ! org_wait_until 10 "pgbench $pid to stop" demo_gone "$pid"; then
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

demo_cleanup() {
	local rc=$?
	# cleanup must run to the end whatever fails on the way
	set +e
	demo_stop_workers
	(exit "$rc")
	org_harness_cleanup
}

# ---------------------------------------------------------------- phases

phase_primary() {
	org_harness_init
	trap demo_cleanup EXIT
	org_cluster_start primary "odoo_retail_guard.slow_query_ms = ${DEMO_SLOW_MS}
shared_buffers = 256MB
log_min_duration_statement = -1"
	step "PostgreSQL $(org_psql primary -d postgres -Atc 'SHOW server_version') on port ${ORG_PORT[primary]}, socket ${ORG_SOCK[primary]}"
	step "odoo_retail_guard.slow_query_ms = ${DEMO_SLOW_MS} (default 500)"
}

phase_load() {
	local t0=$SECONDS rows
	org_psql primary -d postgres -c "CREATE DATABASE $DEMO_DB"
	org_psql primary -d "$DEMO_DB" -c "CREATE EXTENSION odoo_retail_guard"
	org_psql primary -d "$DEMO_DB" -f "$DEMO_DIR/schema.sql"
	rows=$(org_psql primary -d "$DEMO_DB" -Atc \
		"SELECT sum(reltuples)::bigint FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace")
	# start the views empty: only the trading shows
	org_psql primary -d "$DEMO_DB" -Atc "SELECT odoo_retail_guard.reset()" >/dev/null
	step "database '$DEMO_DB': about $rows rows, $(org_psql primary -d "$DEMO_DB" -Atc \
		"SELECT pg_size_pretty(pg_database_size('$DEMO_DB'))"), loaded in $((SECONDS - t0))s"
}

phase_trading() {
	local spec name app script clients log pid i next commits samples
	local trading_t0=$SECONDS
	local conn_args=(-h "${ORG_SOCK[primary]}" -p "${ORG_PORT[primary]}" -U postgres)
	local deadline=$((SECONDS + DEMO_SECONDS + 60))
	local commits0
	commits0=$(demo_psql -Atc "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")

	for spec in "${DEMO_WORKERS[@]}"; do
		IFS='|' read -r name app script clients <<<"$spec"
		log="$ORG_TMP/pgbench-$name.log"
		PGAPPNAME=$app pgbench -n -M simple -T "$DEMO_SECONDS" -c "$clients" -j 1 --max-tries=5 \
			-f "$DEMO_DIR/workload/$script" "${conn_args[@]}" "$DEMO_DB" >"$log" 2>&1 &
		DEMO_PIDS+=($!)
		step "$(printf '%-10s %-15s %d client(s)  demo/workload/%s' "$name" "$app" "$clients" "$script")"
	done

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

	say ""
	printf '    %-10s %-15s %7s %12s %8s %8s %8s\n' worker application_name clients transactions tps retried failed
	i=0
	for spec in "${DEMO_WORKERS[@]}"; do
		IFS='|' read -r name app script clients <<<"$spec"
		pid=${DEMO_PIDS[$i]}
		i=$((i + 1))
		log="$ORG_TMP/pgbench-$name.log"
		if ! wait "$pid"; then
			DEMO_FAILED=1
			say "    pgbench for $name failed:" >&2
			tail -n 5 "$log" | sed 's/^/      /' >&2
		fi
		printf '    %-10s %-15s %7s %12s %8s %8s %8s\n' "$name" "$app" "$clients" \
			"$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$log")" \
			"$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$log" | head -n 1 | awk '{ printf "%.1f", $1 }')" \
			"$(sed -n 's/^number of transactions retried: \([0-9]*\).*/\1/p' "$log")" \
			"$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$log")"
	done
	DEMO_PIDS=()
	step "retried = 40001 serialization failures retried the way Odoo retries a request (REPEATABLE READ)"
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

# DEMO_KEEP=1, after a successful run: take the primary off the harness's
# stop list, so it keeps running, and say how to reach and stop it.
demo_keep_primary() {
	local kept=() name stop
	for name in "${ORG_CLUSTERS[@]}"; do
		[ "$name" = primary ] || kept+=("$name")
	done
	ORG_CLUSTERS=("${kept[@]}")
	stop="$ORG_BINDIR/pg_ctl -D ${ORG_DATA[primary]} -m fast stop"
	if [ "$(id -u)" -eq 0 ]; then
		stop="runuser -u postgres -- $stop"
	fi
	say ""
	say "DEMO_KEEP=1: the cluster keeps running."
	say "  socket directory  ${ORG_SOCK[primary]}"
	say "  port              ${ORG_PORT[primary]} (also on 127.0.0.1)"
	say "  connect           psql -h ${ORG_SOCK[primary]} -p ${ORG_PORT[primary]} -U postgres $DEMO_DB"
	say "  then try          SELECT * FROM odoo_retail_guard.model_stats ORDER BY total_ms DESC;"
	say "  stop it           $stop"
	say "  and clean up      rm -rf $ORG_TMP"
}

# ---------------------------------------------------------------- main

say "odoo_retail_guard demo: a retail Odoo database under a day of trading"
say "(throwaway cluster in a temp directory, loopback only; stopped at the end)"

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
	demo_keep_primary
fi
