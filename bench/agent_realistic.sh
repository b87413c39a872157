#!/usr/bin/env bash
# bench/agent_realistic.sh: the realistic mode of the agent benchmark
# (bench/agent_bench.sh uses small stand-in snapshots).  Real extension,
# real-sized nodes: every node holds a full statement table (5,000 distinct
# statements), 1,000 tables tracked in autovacuum_lag, and a live workload
# runs a few hundred of the statements again per 10 s.  Two real servers
# stand in for BENCH_NODES nodes: the same database under many [node] names.
#
# For intervals of 10 s and 1 s, with full snapshots (snapshot_deltas =
# false) and with deltas, in one run, /metrics scraped every 15 s: agent CPU
# (% of one core, from its own utime + stime), RSS, kB per snapshot received (full and delta told apart
# by the agent's own counters), polls, the longest last poll, deadline
# overruns over the window, and the load average beside each row.
#
# Two servers standing in for hundreds of nodes serve hundreds of
# snapshots per interval: their cost per full snapshot and per delta is
# measured first and printed with the share of the machine the case needs,
# so that a server-bound row is read as such.  Each case starts with a
# warm-up: the agent polls with a 120 s deadline until every node has sent
# its first (full) snapshot (a 120 s interval), then is reloaded (SIGHUP:
# connections and delta state kept) to the measured interval and deadline;
# the window starts two intervals later, so it holds no first polls.
#
# BENCH_NODES=500 BENCH_WINDOW_S=40 (seconds measured per case)
# BENCH_CASES="10:full 10:delta 1:full 1:delta" (interval:mode, the cases run)
# BENCH_BEFORE=<commit>: each case also run, right after, with the agent as
# it was at that commit (built from git archive in the temp dir), so that
# the two rows are read at the same load
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

BENCH_NODES=${BENCH_NODES:-500}
BENCH_WINDOW_S=${BENCH_WINDOW_S:-40}
BENCH_CASES=${BENCH_CASES:-10:full 10:delta 1:full 1:delta}
make -s agent >/dev/null || org_die "agent build failed"
agents="now"
now_bin=$AGENT_BIN
if [ -n "${BENCH_BEFORE:-}" ]; then
	mkdir -p "$ORG_TMP/before"
	git archive "$BENCH_BEFORE" | tar -x -C "$ORG_TMP/before" || org_die "BENCH_BEFORE: no commit $BENCH_BEFORE"
	make -s -C "$ORG_TMP/before" agent >/dev/null 2>&1 || org_die "BENCH_BEFORE: the agent at $BENCH_BEFORE does not build"
	agents="now before"
fi
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
# the servers' own cost: a full snapshot in a new backend and in a warm one,
# and a delta of 10 s of workload (below), per call
server_cost() {
	org_psql r1 -d odoo -Atc "SELECT pg_catalog.length(odoo_retail_guard.snapshot(0))" >/dev/null
	org_psql r1 -d odoo -At <<'SQL'
DO $$
DECLARE
	t0 timestamptz;
	cold float8;
	warm float8;
	delta float8;
	full_kb float8;
	delta_kb float8;
	stmt_kb float8;
	g bigint;
	b bytea;
BEGIN
	-- the agent's form: no statements (snapshot(cursor, generation, false))
	t0 := clock_timestamp();
	b := odoo_retail_guard.snapshot(0, 0, false);
	cold := extract(epoch FROM clock_timestamp() - t0) * 1000;
	full_kb := length(b) / 1024.0;
	stmt_kb := length(odoo_retail_guard.snapshot(0)) / 1024.0;
	g := odoo_retail_guard.snapshot_generation();
	t0 := clock_timestamp();
	FOR i IN 1..10 LOOP
		b := odoo_retail_guard.snapshot(0, 0, false);
	END LOOP;
	warm := extract(epoch FROM clock_timestamp() - t0) * 100;
	PERFORM pg_sleep(10);
	t0 := clock_timestamp();
	FOR i IN 1..10 LOOP
		b := odoo_retail_guard.snapshot(0, g, false);
	END LOOP;
	delta := extract(epoch FROM clock_timestamp() - t0) * 100;
	delta_kb := length(b) / 1024.0;
	RAISE NOTICE '%', format('%s %s %s %s %s %s', round(cold::numeric, 1), round(warm::numeric, 1),
		round(delta::numeric, 1), round(full_kb::numeric), round(delta_kb::numeric), round(stmt_kb::numeric));
END
$$;
SQL
}

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
sleep 10	# a benchmark, not a test: one interval of workload before it is counted
echo "workload: $(org_psql r1 -d odoo -Atc "SELECT count(*) FROM odoo_retail_guard.slow_queries WHERE last_seen > pg_catalog.now() - interval '10 s'") of r1's statements ran in the last 10 s"
read -r cold_ms full_ms delta_ms full_kb delta_kb stmt_kb < <(server_cost 2>&1 | sed -n 's/.*NOTICE: *//p')
echo "server (r1, load $(cut -d' ' -f1 /proc/loadavg)), the agent's form (no statements): full snapshot ${full_kb} kB (${stmt_kb} kB with the statements), ${cold_ms} ms in a new backend, ${full_ms} ms warm; delta of 10 s of workload ${delta_kb} kB, ${delta_ms} ms"
share() { python3 -c "print('%.0f' % (100.0 * $BENCH_NODES * $1 / 1000.0 / $2 / $(nproc)))"; }
echo "  so $BENCH_NODES nodes need, of this machine's $(nproc) cores, on the servers alone: 10 s full $(share "$full_ms" 10) %, 10 s delta $(share "$delta_ms" 10) %, 1 s full $(share "$full_ms" 1) %, 1 s delta $(share "$delta_ms" 1) %"

metric_sum() { awk -v n="$2" '$1 ~ "^"n"({|$)" {s+=$NF} END {printf "%.0f\n", s+0}' "$1"; }
metric_max() { awk -v n="$2" '$1 ~ "^"n"({|$)" {if ($NF>m) m=$NF} END {printf "%.3f\n", m+0}' "$1"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

write_conf() { # FILE INTERVAL_S DELTAS PORT [NODE_TIMEOUT_MS STATEMENT_TIMEOUT_S]
	local i c
	{
		printf '[agent]\ninterval = %ss\nnode_timeout = %sms\nstatement_timeout = %ss\n' "$2" \
			"${5:-$(python3 -c "print(int(min(5.0, $2 * 0.8) * 1000))")}" "${6:-3}"
		printf 'spool_dir = %s/spool\nlisten = 127.0.0.1:%s\nsnapshot_deltas = %s\n' "$ORG_TMP" "$4" "$3"
		for i in $(seq 0 $((BENCH_NODES - 1))); do
			c=r$((i % 2 + 1))
			# each node its own cluster: hundreds of primaries in one would be a split brain
			printf '[node n%d]\nconninfo = %s dbname=odoo\ncluster = c%d\n' "$i" "$(org_conn "$c")" "$i"
		done
	} >"$1"
}

echo
echo "== $BENCH_NODES nodes, 5,000 statements and 1,000 tables each, live workload; ${BENCH_WINDOW_S} s measured per case =="
printf '%-6s %-5s %-6s %-6s %-5s %-6s %-7s %-9s %-6s %-7s %-8s %-10s %-8s\n' agent interval mode load up "cpu_%" "rss_MB" \
	"kB/snap" snaps fulls polls max_poll_s overruns
for case in $BENCH_CASES; do
	interval=${case%%:*}
	case ${case#*:} in
	full) deltas=false ;;
	delta) deltas=true ;;
	*) org_die "BENCH_CASES: $case is not interval:full or interval:delta" ;;
	esac
	for which in $agents; do
		AGENT_BIN=$now_bin
		[ "$which" = before ] && AGENT_BIN=$ORG_TMP/before/agent/orguard-agent
		port=$(org_free_port)
		# warm-up: every node's first (full) snapshot, however long two servers take for all of them
		write_conf "$ORG_TMP/r.conf" 120 "$deltas" "$port" 120000 110
		agent_start real "$ORG_TMP/r.conf"
		pid=${AGENT_PIDS[real]}
		url="http://127.0.0.1:$port/metrics"
		all_up() { curl -fsS --max-time 60 "$url" >"$ORG_TMP/m.txt" 2>/dev/null &&
			[ "$(metric_sum "$ORG_TMP/m.txt" orguard_node_snapshot_ok)" -ge "$BENCH_NODES" ]; }
		t_up=$(date +%s)
		org_wait_until 300 "$BENCH_NODES nodes up" all_up 2>/dev/null ||
			echo "  (only $(metric_sum "$ORG_TMP/m.txt" orguard_node_snapshot_ok) of $BENCH_NODES nodes sent a snapshot within 300 s)"
		warm_s=$(($(date +%s) - t_up))
		write_conf "$ORG_TMP/r.conf" "$interval" "$deltas" "$port"
		kill -HUP "$pid"
		# two intervals of the measured settings before the window
		polls_now() { curl -fsS --max-time 60 "$url" >"$ORG_TMP/m.txt" 2>/dev/null && metric_sum "$ORG_TMP/m.txt" orguard_node_polls_total; }
		p0=$(polls_now)
		org_wait_until 200 "two intervals after the reload" \
			bash -c "[ \$(curl -fsS --max-time 60 '$url' | awk '\$1 ~ /^orguard_node_polls_total/ {s+=\$NF} END {printf \"%.0f\", s+0}') -ge $((${p0:-0} + 2 * BENCH_NODES)) ]" 2>/dev/null
		curl -fsS --max-time 60 "$url" >"$ORG_TMP/m0.txt"
		t0=$(date +%s.%N) ticks0=$(cpu_ticks "$pid")
		# scraped meanwhile every 15 s, as a Prometheus server would
		agent_bg scraper bash -c "while :; do sleep 15; curl -fsS --max-time 60 -o /dev/null '$url'; done"
		sleep "$BENCH_WINDOW_S"	# a benchmark, not a test: wall time is what it measures
		agent_kill scraper
		curl -fsS --max-time 60 "$url" >"$ORG_TMP/m1.txt"
		t1=$(date +%s.%N) ticks1=$(cpu_ticks "$pid")
		delta_of() { echo $(($(metric_sum "$ORG_TMP/m1.txt" "$1") - $(metric_sum "$ORG_TMP/m0.txt" "$1"))); }
		polls=$(delta_of orguard_node_polls_total)
		snaps=$(delta_of orguard_node_snapshots_total)
		bytes=$(delta_of orguard_node_snapshot_bytes_total)
		over=$(delta_of orguard_node_deadline_overruns_total)
		fulls=$([ "$deltas" = true ] && delta_of orguard_node_snapshot_fulls_total || echo "$snaps")
		printf '%-6s %-5s %-6s %-6s %-5s %-6s %-7s %-9s %-6s %-7s %-8s %-10s %-8s\n' "$which" "${interval}s" \
			"$([ "$deltas" = true ] && echo delta || echo full)" "$(cut -d' ' -f1 /proc/loadavg)" \
			"$(metric_sum "$ORG_TMP/m1.txt" orguard_node_up)" \
			"$(python3 -c "print('%.1f' % (100.0 * ($ticks1 - $ticks0) / $hz / ($t1 - $t0)))")" \
			"$(python3 -c "print('%.1f' % ($(rss_kb "$pid") / 1024))")" \
			"$(python3 -c "print('%.1f' % ($bytes / 1024.0 / max(1, $snaps)))")" \
			"$snaps" "$fulls" "$polls" "$(metric_max "$ORG_TMP/m1.txt" orguard_node_poll_duration_seconds)" "$over"
		echo "      (warm-up: all first snapshots in ${warm_s} s; /metrics $(python3 -c "print('%.1f' % ($(wc -c <"$ORG_TMP/m1.txt") / 1048576.0))") MB; peak RSS since start $(awk '/^VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status") MB)"
		agent_kill real
	done
done
echo "  (targets: delta at $BENCH_NODES nodes and 10 s under 10 % of one core and 256 MB RSS, no overrun;"
echo "   max_poll_s is the longest of each node's last poll; cpu_% is the agent's own CPU time)"
agent_kill work1
agent_kill work2
