#!/usr/bin/env bash
# bench/agent_realistic.sh: the realistic mode of the agent benchmark
# (bench/agent_bench.sh uses small stand-in snapshots).  Real extension,
# real-sized nodes: every node holds a full statement table (5,000 distinct
# statements), 1,000 tables tracked in autovacuum_lag, and a live workload
# runs a few hundred of the statements again per 10 s.  Two real servers
# stand in for BENCH_NODES nodes: the same database under many [node] names.
#
# For intervals of 10 s and 1 s, with full snapshots (snapshot_deltas =
# false) and with deltas, in one run: agent CPU (% of one core), RSS, bytes
# received per poll, the longest poll and deadline overruns over the window.
#
# BENCH_NODES=500 BENCH_WINDOW_S=40 (seconds measured per case)
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

BENCH_NODES=${BENCH_NODES:-500}
BENCH_WINDOW_S=${BENCH_WINDOW_S:-40}
make -s agent >/dev/null || org_die "agent build failed"
hz=$(getconf CLK_TCK)
per_server=$(((BENCH_NODES + 1) / 2))

for c in r1 r2; do
	org_cluster_start "$c" "max_connections = $((per_server + 30))
shared_buffers = 64MB
odoo_retail_guard.max_queries = 6000
autovacuum = off"
	org_psql "$c" -d postgres -c "CREATE DATABASE odoo" >/dev/null
	org_psql "$c" -d odoo >/dev/null <<'SQL'
CREATE EXTENSION odoo_retail_guard;
DO $$
BEGIN
	FOR t IN 1..1000 LOOP
		EXECUTE format('CREATE TABLE x_table_%s (id int PRIMARY KEY, %s)', t,
			(SELECT string_agg('c' || c || ' int', ', ') FROM generate_series(1, 5) c));
	END LOOP;
END
$$;
-- statement I: one distinct shape per table and column (synthetic, not Odoo's SQL)
CREATE FUNCTION run_shapes(first int, count int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN first..first + count - 1 LOOP
		EXECUTE format('SELECT c%s FROM x_table_%s WHERE c%s = 42',
			(i % 5) + 1, ((i / 5) % 1000) + 1, (i % 5) + 1);
	END LOOP;
END
$$;
SET odoo_retail_guard.track = 'all';
SET application_name = 'odoo-1';
SELECT run_shapes(0, 5000);
SQL
done
tracked() { org_psql "$1" -d odoo -Atc "SELECT count(*) FROM odoo_retail_guard.autovacuum_lag"; }
for c in r1 r2; do
	org_wait_until 120 "1,000 tables in autovacuum_lag on $c" bash -c "[ \$(psql -X -At -h '${ORG_SOCK[$c]}' -p '${ORG_PORT[$c]}' -U postgres -d odoo -c 'SELECT count(*) FROM odoo_retail_guard.autovacuum_lag') -ge 1000 ]"
	echo "$c: $(org_psql "$c" -d odoo -Atc "SELECT used FROM odoo_retail_guard.memory WHERE area = 'queries'") statements, $(tracked "$c") tables in autovacuum_lag"
done

# live workload: 30 statements a second per server, 300 per 10 s
workload() {
	local c=$1 i=0
	while :; do
		psql -X -q -h "${ORG_SOCK[$c]}" -p "${ORG_PORT[$c]}" -U postgres -d odoo \
			-c "SET odoo_retail_guard.track = 'all'; SET application_name = 'odoo-2'; SELECT run_shapes($(((i * 30) % 5000)), 30)" >/dev/null 2>&1
		i=$((i + 1))
		sleep 1
	done
}
agent_bg work1 bash -c "$(declare -f workload); $(declare -p ORG_SOCK ORG_PORT); workload r1"
agent_bg work2 bash -c "$(declare -f workload); $(declare -p ORG_SOCK ORG_PORT); workload r2"

metric_sum() { awk -v n="$2" '$1 ~ "^"n"({|$)" {s+=$NF} END {printf "%.0f\n", s+0}' "$1"; }
metric_max() { awk -v n="$2" '$1 ~ "^"n"({|$)" {if ($NF>m) m=$NF} END {printf "%.3f\n", m+0}' "$1"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

write_conf() { # FILE INTERVAL_S DELTAS PORT
	local i c
	{
		printf '[agent]\ninterval = %ss\nnode_timeout = %sms\nstatement_timeout = 3s\n' "$2" \
			"$(python3 -c "print(int(min(5.0, $2 * 0.8) * 1000))")"
		printf 'spool_dir = %s/spool\nlisten = 127.0.0.1:%s\nsnapshot_deltas = %s\n' "$ORG_TMP" "$4" "$3"
		for i in $(seq 0 $((BENCH_NODES - 1))); do
			c=r$((i % 2 + 1))
			printf '[node n%d]\nconninfo = %s dbname=odoo\ncluster = %s\n' "$i" "$(org_conn "$c")" "$c"
		done
	} >"$1"
}

echo
echo "== $BENCH_NODES nodes, 5,000 statements and 1,000 tables each, live workload; ${BENCH_WINDOW_S} s measured per case =="
printf '%-9s %-7s %-6s %-9s %-8s %-14s %-12s %-10s %-9s\n' interval mode up "cpu_%" "rss_MB" "kB/poll" "polls" "max_poll_s" overruns
for interval in 10 1; do
	for deltas in false true; do
		port=$(org_free_port)
		write_conf "$ORG_TMP/r.conf" "$interval" "$deltas" "$port"
		agent_start real "$ORG_TMP/r.conf"
		pid=${AGENT_PIDS[real]}
		url="http://127.0.0.1:$port/metrics"
		all_up() { curl -fsS --max-time 10 "$url" >"$ORG_TMP/m.txt" 2>/dev/null &&
			[ "$(metric_sum "$ORG_TMP/m.txt" orguard_node_snapshot_ok)" -ge "$BENCH_NODES" ]; }
		org_wait_until $((interval * 6 + 30)) "$BENCH_NODES nodes up" all_up 2>/dev/null ||
			echo "  (only $(metric_sum "$ORG_TMP/m.txt" orguard_node_snapshot_ok) of $BENCH_NODES nodes answered within $((interval * 6 + 30)) s: overloaded)"
		# past the first (full) polls, then the window
		sleep $((interval * 2 + 2))	# a benchmark, not a test: wall time is what it measures
		curl -fsS --max-time 10 "$url" >"$ORG_TMP/m0.txt"
		t0=$(date +%s.%N) ticks0=$(cpu_ticks "$pid")
		sleep "$BENCH_WINDOW_S"
		curl -fsS --max-time 10 "$url" >"$ORG_TMP/m1.txt"
		t1=$(date +%s.%N) ticks1=$(cpu_ticks "$pid")
		polls=$(($(metric_sum "$ORG_TMP/m1.txt" orguard_node_polls_total) - $(metric_sum "$ORG_TMP/m0.txt" orguard_node_polls_total)))
		bytes=$(($(metric_sum "$ORG_TMP/m1.txt" orguard_node_snapshot_bytes_total) - $(metric_sum "$ORG_TMP/m0.txt" orguard_node_snapshot_bytes_total)))
		over=$(($(metric_sum "$ORG_TMP/m1.txt" orguard_node_deadline_overruns_total) - $(metric_sum "$ORG_TMP/m0.txt" orguard_node_deadline_overruns_total)))
		printf '%-9s %-7s %-6s %-9s %-8s %-14s %-12s %-10s %-9s\n' "${interval}s" \
			"$([ "$deltas" = true ] && echo delta || echo full)" \
			"$(metric_sum "$ORG_TMP/m1.txt" orguard_node_up)" \
			"$(python3 -c "print('%.1f' % (100.0 * ($ticks1 - $ticks0) / $hz / ($t1 - $t0)))")" \
			"$(python3 -c "print('%.1f' % ($(rss_kb "$pid") / 1024))")" \
			"$(python3 -c "print('%.1f' % ($bytes / 1024.0 / max(1, $polls)))")" \
			"$polls" "$(metric_max "$ORG_TMP/m1.txt" orguard_node_poll_duration_seconds)" "$over"
		agent_kill real
	done
done
echo "  (targets: delta at $BENCH_NODES nodes and 10 s under 10 % of one core and 256 MB RSS, no overrun)"
agent_kill work1
agent_kill work2
