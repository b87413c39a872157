#!/usr/bin/env bash
# bench/overhead.sh: the cost of odoo_retail_guard on the query path, next to
# pg_stat_statements, measured with pgbench.
#
# One throwaway cluster, four configurations that differ only by
# shared_preload_libraries:
#   none                 nothing preloaded (the baseline)
#   pg_stat_statements   pg_stat_statements only
#   odoo_retail_guard    odoo_retail_guard only
#   both                 both
# and two pgbench scripts: the built-in select-only (-S) and the built-in
# TPC-B-like transaction.  Every round runs every configuration and script
# once; the order of the configurations rotates from round to round, so a
# slow or noisy minute of a shared machine does not land on one
# configuration.  The cluster restarts between configurations and its
# tables and indexes are loaded into shared buffers (pg_prewarm) after each
# restart, so every run starts warm and CPU-bound.
#
# The protocol is simple query by default: Odoo (psycopg2) sends every
# statement as text with literals, never prepared statements.  The clients
# set application_name odoo-<n>, so the extension takes its Odoo path.
#
# Besides TPS, every run measures the CPU time the server spent (all its
# processes, from /proc) per transaction.  On a shared machine TPS follows
# the neighbours' load; CPU per transaction follows it much less, so it is
# the steadier measure of what a tracker costs.
#
# Prints, per configuration and script, the median TPS and CPU time per
# transaction and their ratios to the baseline, and writes the same to
# bench/results/overhead-<date>.txt.  It never passes or fails on the
# figures.
#
# Environment (defaults in brackets):
#   BENCH_ROUNDS [5]      rounds; more rounds, steadier medians
#   BENCH_SECONDS [15]    length of each pgbench run
#   BENCH_SCALE [5]       pgbench scale (5 = 500 000 accounts, ~80 MB)
#   BENCH_CLIENTS [2]     pgbench -c
#   BENCH_JOBS [2]        pgbench -j
#   BENCH_PROTOCOL [simple]  pgbench -M: simple, extended or prepared
# Time: BENCH_ROUNDS x 4 x (2 x BENCH_SECONDS + ~3 s restart) + ~30 s
# setup, about 11-12 minutes with the defaults.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ORG_SRC_DIR=$(cd "$BENCH_DIR/.." && pwd)
BENCH_ROUNDS=${BENCH_ROUNDS:-5}
BENCH_SECONDS=${BENCH_SECONDS:-15}
BENCH_SCALE=${BENCH_SCALE:-5}
BENCH_CLIENTS=${BENCH_CLIENTS:-2}
BENCH_JOBS=${BENCH_JOBS:-2}
BENCH_PROTOCOL=${BENCH_PROTOCOL:-simple}
BENCH_DB=bench

for v in BENCH_ROUNDS BENCH_SECONDS BENCH_SCALE BENCH_CLIENTS BENCH_JOBS; do
	case "${!v}" in
		'' | *[!0-9]* | 0) echo "overhead: $v must be a positive integer" >&2; exit 2 ;;
	esac
done
case "$BENCH_PROTOCOL" in
	simple | extended | prepared) ;;
	*) echo "overhead: BENCH_PROTOCOL must be simple, extended or prepared" >&2; exit 2 ;;
esac

# shellcheck source=../regress/lib/cluster.sh
. "$ORG_SRC_DIR/regress/lib/cluster.sh"
command -v pgbench >/dev/null || org_die "pgbench is missing (install postgresql-15)"
CLK_TCK=$(getconf CLK_TCK)

CONFIGS=(none pg_stat_statements odoo_retail_guard both)
declare -A PRELOAD=(
	[none]=""
	[pg_stat_statements]="pg_stat_statements"
	[odoo_retail_guard]="odoo_retail_guard"
	[both]="pg_stat_statements,odoo_retail_guard"
)
SCRIPTS=(select-only tpcb-like)

# ---------------------------------------------------------------- helpers

bench_psql() { org_psql bench -d "$BENCH_DB" -Atc "$1"; }

# Restart the cluster with the given shared_preload_libraries, then load the
# pgbench tables and indexes into shared buffers.
bench_switch() {
	local preload=$1 keep=() name list shown
	# a list setting takes one quoted string per library; no library is the
	# cluster's own postgresql.conf value (empty)
	if [ -n "$preload" ]; then
		list="'${preload//,/\', \'}'"
		org_psql bench -d postgres -c "ALTER SYSTEM SET shared_preload_libraries = $list" >/dev/null
	else
		org_psql bench -d postgres -c "ALTER SYSTEM RESET shared_preload_libraries" >/dev/null
	fi
	org_cluster_stop bench
	org_cluster_start bench
	# the harness registers a cluster on every start; keep one entry
	for name in "${ORG_CLUSTERS[@]}"; do
		[ "$name" = bench ] || keep+=("$name")
	done
	ORG_CLUSTERS=("${keep[@]}" bench)
	shown=$(bench_psql 'SHOW shared_preload_libraries')
	[ "${shown// /}" = "$preload" ] ||
		org_die "shared_preload_libraries is not '$preload' after the restart"
	bench_psql "SELECT sum(pg_prewarm(c.oid)) FROM pg_class c
		WHERE c.relname LIKE 'pgbench%' AND c.relkind IN ('r', 'i')" >/dev/null
	# pg_stat_statements keeps its counts across restarts
	case "$preload" in
		*pg_stat_statements*)
			if [ "$(bench_psql "SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'")" = 1 ]; then
				bench_psql "SELECT pg_stat_statements_reset()" >/dev/null
			fi ;;
	esac
}

bench_postmaster() { head -n 1 "${ORG_DATA[bench]}/postmaster.pid"; }

# CPU clock ticks used by the cluster so far: the postmaster, its live
# children, and its exited children (cutime/cstime, once reaped).
bench_cpu_ticks() {
	local pm child total f
	pm=$(bench_postmaster)
	# /proc/PID/stat after "(comm) ": [11] utime [12] stime [13] cutime [14] cstime
	read -r -a f < <(sed 's/^.*) //' "/proc/$pm/stat")
	total=$((f[11] + f[12] + f[13] + f[14]))
	for child in $(ps --ppid "$pm" -o pid=); do
		read -r -a f < <(sed 's/^.*) //' "/proc/$child/stat" 2>/dev/null) || continue
		[ ${#f[@]} -gt 12 ] || continue
		total=$((total + f[11] + f[12]))
	done
	echo "$total"
}

# true when no client backend of the bench database is left and every
# exited child has been reaped (its CPU time is then in cutime/cstime)
bench_no_clients() {
	local pm
	pm=$(bench_postmaster)
	! pgrep -P "$pm" -f "^postgres: postgres $BENCH_DB " >/dev/null &&
		! pgrep -P "$pm" -r Z >/dev/null
}

# Statements the loaded trackers saw since the restart: proves the hooks ran.
bench_tracked() {
	local config=$1 out=""
	case "$config" in
		pg_stat_statements | both)
			out="pgss $(bench_psql 'SELECT coalesce(sum(calls), 0) FROM pg_stat_statements')" ;;
	esac
	case "$config" in
		odoo_retail_guard | both)
			out="$out${out:+, }orguard $(bench_psql 'SELECT coalesce(sum(calls), 0) FROM odoo_retail_guard.slow_queries')" ;;
	esac
	echo "${out:-no tracker}"
}

bench_run() { # bench_run SCRIPT LOG -> prints "TPS CPU-microseconds-per-transaction"
	local script=$1 log=$2 builtin cpu0 cpu1 tps xacts
	case "$script" in
		select-only) builtin=(-S) ;;
		tpcb-like) builtin=(-b tpcb-like) ;;
	esac
	org_wait_until 30 "client backends to exit" bench_no_clients || org_die "client backends left over"
	cpu0=$(bench_cpu_ticks)
	PGAPPNAME=odoo-4242 pgbench -n "${builtin[@]}" -M "$BENCH_PROTOCOL" -c "$BENCH_CLIENTS" -j "$BENCH_JOBS" \
		-T "$BENCH_SECONDS" -h "${ORG_SOCK[bench]}" -p "${ORG_PORT[bench]}" -U postgres "$BENCH_DB" >"$log" 2>&1 ||
		{ tail -n 20 "$log" >&2; org_die "pgbench $script failed"; }
	org_wait_until 30 "client backends to exit" bench_no_clients || org_die "client backends left over"
	cpu1=$(bench_cpu_ticks)
	tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$log")
	xacts=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$log")
	if [ -z "$tps" ] || [ -z "$xacts" ] || [ "$xacts" -eq 0 ]; then
		org_die "no TPS in the pgbench output ($log)"
	fi
	awk -v t="$tps" -v d=$((cpu1 - cpu0)) -v x="$xacts" -v hz="$CLK_TCK" \
		'BEGIN { printf "%s %.2f\n", t, d * 1000000 / hz / x }'
}

median() { # numbers on stdin -> median
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ---------------------------------------------------------------- setup

stamp=$(date -u +%Y%m%d-%H%M%S)
results_dir="$ORG_SRC_DIR/bench/results"
mkdir -p "$results_dir"
result_file="$results_dir/overhead-$stamp.txt"

total=$((BENCH_ROUNDS * ${#CONFIGS[@]} * ${#SCRIPTS[@]}))
estimate=$(((BENCH_ROUNDS * ${#CONFIGS[@]} * (2 * BENCH_SECONDS + 3) + 30 + 59) / 60))
echo "overhead: ${BENCH_ROUNDS} rounds x ${#CONFIGS[@]} configurations x ${#SCRIPTS[@]} scripts = $total pgbench runs of ${BENCH_SECONDS}s"
echo "overhead: pgbench -c $BENCH_CLIENTS -j $BENCH_JOBS -M $BENCH_PROTOCOL, scale $BENCH_SCALE; about $estimate min"

org_harness_init
runs_file="$ORG_TMP/runs.tsv"
org_cluster_start bench "shared_preload_libraries = ''
shared_buffers = 256MB
max_wal_size = 4GB
checkpoint_timeout = 30min
autovacuum_naptime = 10s"
org_psql bench -d postgres -c "CREATE DATABASE $BENCH_DB" >/dev/null
bench_psql "CREATE EXTENSION pg_prewarm" >/dev/null
t0=$SECONDS
pgbench -i -q -s "$BENCH_SCALE" -h "${ORG_SOCK[bench]}" -p "${ORG_PORT[bench]}" -U postgres "$BENCH_DB" \
	>"$ORG_TMP/pgbench-init.log" 2>&1 || { cat "$ORG_TMP/pgbench-init.log" >&2; org_die "pgbench -i failed"; }
# create the trackers' SQL objects once, while both are loaded
bench_switch "${PRELOAD[both]}"
bench_psql "CREATE EXTENSION pg_stat_statements; CREATE EXTENSION odoo_retail_guard" >/dev/null
echo "overhead: pgbench database (scale $BENCH_SCALE, $(bench_psql "SELECT pg_size_pretty(pg_database_size('$BENCH_DB'))")) ready in $((SECONDS - t0))s"

# ---------------------------------------------------------------- rounds

n=0
for round in $(seq 1 "$BENCH_ROUNDS"); do
	for k in $(seq 0 $((${#CONFIGS[@]} - 1))); do
		config=${CONFIGS[$(((k + round - 1) % ${#CONFIGS[@]}))]}
		bench_switch "${PRELOAD[$config]}"
		for script in "${SCRIPTS[@]}"; do
			n=$((n + 1))
			out=$(bench_run "$script" "$ORG_TMP/pgbench-$round-$config-$script.log")
			read -r tps cpu <<<"$out"
			load=$(cut -d' ' -f1 /proc/loadavg)
			printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$config" "$script" "$tps" "$cpu" "$load" >>"$runs_file"
			printf 'overhead: [%2d/%d] round %d  %-19s %-12s %10.1f tps %8.1f us/tx  load %5s  (tracked: %s)\n' \
				"$n" "$total" "$round" "$config" "$script" "$tps" "$cpu" "$load" "$(bench_tracked "$config")"
		done
	done
done

# ---------------------------------------------------------------- report

{
	echo "odoo_retail_guard overhead, pgbench, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "machine: $(nproc) CPU ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), $(free -g | awk '/^Mem:/ {print $2}') GB RAM"
	echo "server: $(bench_psql 'SELECT version()' | cut -d, -f1), shared_buffers 256MB, fsync off"
	echo "pgbench: -c $BENCH_CLIENTS -j $BENCH_JOBS -M $BENCH_PROTOCOL -T $BENCH_SECONDS, scale $BENCH_SCALE, application_name odoo-4242"
	echo "rounds: $BENCH_ROUNDS (configurations interleaved, order rotated per round)"
	echo
	printf '%-12s %-19s %4s %11s %10s %10s %7s %10s %7s\n' script configuration runs \
		"median tps" "min tps" "max tps" ratio "cpu us/tx" ratio
	for script in "${SCRIPTS[@]}"; do
		base=$(awk -F'\t' -v s="$script" '$2 == "none" && $3 == s {print $4}' "$runs_file" | median)
		base_cpu=$(awk -F'\t' -v s="$script" '$2 == "none" && $3 == s {print $5}' "$runs_file" | median)
		for config in "${CONFIGS[@]}"; do
			vals=$(awk -F'\t' -v s="$script" -v c="$config" '$2 == c && $3 == s {print $4}' "$runs_file")
			cpus=$(awk -F'\t' -v s="$script" -v c="$config" '$2 == c && $3 == s {print $5}' "$runs_file")
			med=$(median <<<"$vals")
			med_cpu=$(median <<<"$cpus")
			printf '%-12s %-19s %4d %11.1f %10.1f %10.1f %7.3f %10.1f %7.3f\n' "$script" "$config" \
				"$(wc -l <<<"$vals")" "$med" \
				"$(sort -g <<<"$vals" | head -n 1)" "$(sort -g <<<"$vals" | tail -n 1)" \
				"$(awk -v m="$med" -v b="$base" 'BEGIN { print (b > 0) ? m / b : 0 }')" \
				"$med_cpu" "$(awk -v m="$med_cpu" -v b="$base_cpu" 'BEGIN { print (b > 0) ? m / b : 0 }')"
		done
	done
	echo
	echo "tps ratio = median tps / median tps of 'none' for the same script (1.000 = no overhead;"
	echo "  below 1 = slower).  cpu us/tx = server CPU time (all its processes) per transaction;"
	echo "  its ratio = median / median of 'none' (1.000 = no overhead; above 1 = more CPU per"
	echo "  transaction).  On a shared machine trust the CPU ratio and the spread more than TPS."
	echo "load = 1-minute load average at the end of the run."
	echo "All runs (round, configuration, script, tps, cpu us/tx, load):"
	sed 's/^/  /' "$runs_file"
} >"$result_file"

echo
sed -n '1,/^load = /p' "$result_file"
echo "overhead: written to bench/results/$(basename "$result_file")"
