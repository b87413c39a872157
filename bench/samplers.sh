#!/usr/bin/env bash
# Cost of the sampler at its default intervals (locks 100 ms, replication
# and vacuum 1 s):
#   1. CPU of the sampler process, in per cent of one core, with 50 and 200
#      connected idle sessions, and with 200 sessions of which 20, then 150,
#      wait on a row lock (the slow path: the lock manager is asked every
#      tick, and the lock interval stretches when ticks get expensive);
#      the per-database vacuum scan workers' CPU is added.
#   2. pgbench TPS (select-only, CPU bound, so the sampler's CPU would show)
#      with the sampler on and off in alternating short runs; the median of
#      the per-pair ratios cancels the drift of a shared machine.
# Figures only; nothing here passes or fails on time.
#
#   BENCH_CPU_SECONDS (default 15)  measuring window per CPU scenario
#   BENCH_TPS_SECONDS (default 5)   length of one pgbench run
#   BENCH_TPS_PAIRS   (default 8)   on/off pairs
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
. "$ORG_SRC_DIR/regress/lib/cluster.sh"
. "$ORG_SRC_DIR/regress/lib/sessions.sh"

CPU_SECONDS=${BENCH_CPU_SECONDS:-15}
TPS_SECONDS=${BENCH_TPS_SECONDS:-5}
TPS_PAIRS=${BENCH_TPS_PAIRS:-8}

org_harness_init
trap 'rc=$?; org_sessions_close_all; (exit $rc); org_harness_cleanup' EXIT

C=bench
V=odoo_retail_guard
org_cluster_start $C "max_connections = 260
shared_buffers = 128MB"
org_psql $C -d postgres -c "CREATE DATABASE odoo" >/dev/null
org_psql $C -d odoo -c "CREATE EXTENSION odoo_retail_guard" >/dev/null
org_wait_until 30 "sampler" org_true $C odoo "SELECT pid IS NOT NULL FROM $V.sampler_status" ||
	org_die "the sampler did not start"
SPID=$(org_query $C odoo "SELECT pid FROM $V.sampler_status")

# CPU time of a process in nanoseconds (schedstat), else from clock ticks
cpu_ns() {
	local pid=$1
	if [ -r "/proc/$pid/schedstat" ]; then
		awk '{print $1}' "/proc/$pid/schedstat"
	else
		awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) * 1000000000 / hz}' "/proc/$pid/stat"
	fi
}

scan_cpu_ms() { org_query $C odoo "SELECT vacuum_scan_cpu_ms_total FROM $V.sampler_status"; }

measure() {
	local label=$1 t0 t1 c0 c1 s0 s1 samples0 samples1
	c0=$(cpu_ns "$SPID")
	s0=$(scan_cpu_ms)
	samples0=$(org_query $C odoo "SELECT lock_samples FROM $V.sampler_status")
	t0=$(date +%s%N)
	sleep "$CPU_SECONDS"
	t1=$(date +%s%N)
	c1=$(cpu_ns "$SPID")
	s1=$(scan_cpu_ms)
	samples1=$(org_query $C odoo "SELECT lock_samples FROM $V.sampler_status")
	awk -v l="$label" -v c=$((c1 - c0)) -v t=$((t1 - t0)) -v s0="$s0" -v s1="$s1" \
		-v n=$((samples1 - samples0)) 'BEGIN {
		printf "%-40s sampler %.3f%% of a core, vacuum scans %.3f%%, total %.3f%% (%d lock ticks, %.1f us of sampler CPU per tick)\n",
			l, 100 * c / t, 100 * (s1 - s0) * 1e6 / t, 100 * (c + (s1 - s0) * 1e6) / t, n, (n > 0 ? c / n / 1000 : 0)
	}'
}

open_idle_sessions() {
	local from=$1 to=$2 i
	for i in $(seq "$from" "$to"); do
		org_session_open "s$i" $C odoo "odoo-$((1000 + i))" || org_die "session $i"
	done
}

echo "# sampler CPU at default intervals (window ${CPU_SECONDS}s, $(nproc) CPUs)"
open_idle_sessions 1 50
measure "50 idle sessions"
open_idle_sessions 51 200
measure "200 idle sessions"

# 20 sessions queue on one row held by a cron: the slow path every tick
org_psql $C -d odoo -c "CREATE TABLE stock_quant (id int PRIMARY KEY, quantity numeric); INSERT INTO stock_quant VALUES (1, 0)" >/dev/null
org_session_send s1 "BEGIN; SELECT * FROM stock_quant WHERE id = 1 FOR NO KEY UPDATE;"
org_wait_until 60 "the holder" org_true $C odoo \
	"SELECT state = 'idle in transaction' FROM pg_stat_activity WHERE pid = $(org_session_pid s1)" ||
	org_die "the lock holder did not start"
for i in $(seq 2 21); do
	org_session_send "s$i" "SELECT * FROM stock_quant WHERE id = 1 FOR NO KEY UPDATE;"
done
org_wait_until 60 "20 waiters" org_true $C odoo "SELECT count(*) = 20 FROM $V.blocking_chains" ||
	org_die "waiters did not show up"
measure "200 sessions, 20 waiting on a row lock"
for i in $(seq 22 151); do
	org_session_send "s$i" "SELECT * FROM stock_quant WHERE id = 1 FOR NO KEY UPDATE;"
done
org_wait_until 60 "150 waiters" org_true $C odoo "SELECT count(*) = 150 FROM $V.blocking_chains" ||
	org_die "waiters did not show up"
measure "200 sessions, 150 waiting (interval stretches)"
org_session_send s1 "COMMIT;"
org_sessions_close_all

echo
echo "# pgbench -S TPS, sampler on vs off (${TPS_PAIRS} pairs of ${TPS_SECONDS}s runs, 4 clients)"
pgbench -h "${ORG_SOCK[$C]}" -p "${ORG_PORT[$C]}" -U postgres -i -q -s 10 odoo >/dev/null 2>&1 ||
	org_die "pgbench -i failed"

set_sampler() {
	org_psql $C -d odoo -c "ALTER SYSTEM SET odoo_retail_guard.sampler = $1" -c "SELECT pg_reload_conf()" >/dev/null
	org_wait_until 30 "sampler $1" org_true $C odoo "SELECT enabled = '$1'::boolean FROM $V.sampler_status"
}

run_tps() {
	pgbench -h "${ORG_SOCK[$C]}" -p "${ORG_PORT[$C]}" -U postgres -S -c 4 -j 2 -T "$TPS_SECONDS" -n odoo 2>/dev/null |
		sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1
}

# one warm-up run, then pairs in alternating order so drift cancels out
run_tps >/dev/null
ratios=()
for p in $(seq 1 "$TPS_PAIRS"); do
	if [ $((p % 2)) -eq 1 ]; then
		set_sampler on
		on=$(run_tps)
		set_sampler off
		off=$(run_tps)
	else
		set_sampler off
		off=$(run_tps)
		set_sampler on
		on=$(run_tps)
	fi
	r=$(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.4f", (b > 0 ? a / b : 0) }')
	ratios+=("$r")
	printf 'pair %d: on %s tps, off %s tps, ratio %s\n' "$p" "$on" "$off" "$r"
done
set_sampler on
printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR] = $1; l += log($1)} END {
	m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
	printf "TPS ratio on/off: median %.4f, geometric mean %.4f (min %s, max %s)\n", m, exp(l / NR), a[1], a[NR] }'
