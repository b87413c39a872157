#!/usr/bin/env bash
# bench/agent_bench.sh: orguard-agent figures on loopback.  Prints numbers,
# never passes or fails on time.
#
#   1. agent RSS and CPU per poll cycle at 1, 50 and 500 nodes
#   2. latency from a lock wait showing in the snapshot to the alert
#      arriving at a webhook receiver, at a 1 s interval
#   3. side by side with Debian's prometheus-postgres-exporter on the same
#      database: scrape time, series and RSS
#
# Until the extension's snapshot() lands, every database carries a plain SQL
# function of that name returning a realistic encoded Snapshot (40 models,
# 200 tables, 2 blocking chains), so decoding, facts and rules run at size.
# Section 2 therefore measures the agent's own path (poll, decode, rules,
# spool fsync, HTTP), not the extension's lock tracker.
#
# BENCH_NODES="1 50 500" BENCH_WINDOW=3 (poll cycles measured per size)
#
# Real-sized nodes (the real extension, 5,000 statements, 1,000 tables, a
# live workload; full and delta snapshots): bench/agent_realistic.sh.
set -uo pipefail
ORG_SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
cd "$ORG_SRC_DIR"
. regress/lib/cluster.sh
org_harness_init
. regress/lib/agent.sh

BENCH_NODES=${BENCH_NODES:-"1 50 500"}
BENCH_WINDOW=${BENCH_WINDOW:-3}
DBS_PER_CLUSTER=10
make -s agent >/dev/null || org_die "agent build failed"
hz=$(getconf CLK_TCK)

# ---- a realistic stand-in snapshot ----
python3 - >"$ORG_TMP/snap.txt" <<'PY'
print("schema_version: 1\nnext_cursor: 1000")
ops = ["select", "update", "insert"]
for i in range(40):
    print('models { database: "odoo" model: "x_model_%d" operation: "%s" statements: 12 calls: %d '
          'total_ms: 1234.5 mean_ms: 2.5 p50_ms: 1.2 p95_ms: 9.5 p99_ms: 30.1 max_ms: 120 slow_calls: 3 rows: 9000 }'
          % (i, ops[i % 3], 1000 + i))
for i in range(200):
    print('autovacuum_lag { database: "odoo" relation: "x_table_%d" model: "x.table.%d" live_tuples: 100000 '
          'dead_tuples: %d threshold: 20050 dead_over_threshold: 0.5 lag_s: 0 xid_age: %d freeze_max_age: 200000000 }'
          % (i, i, 1000 * i, 100000 + i))
for i in range(2):
    print('blocking_chains { waiter_pid: %d database: "odoo" relation: "stock_quant" lock_type: "transactionid" '
          'mode: "ShareLock" wait_ms: 1500 chain: 400 root_pid: 400 root_application_name: "odoo-cron" '
          'root_state: "active" root_xact_age_ms: 2000 root_query: "UPDATE stock_quant SET quantity = $1 WHERE id = $2" }'
          % (600 + i))
print('connections { max_connections: 400 total: 30 active: 5 idle: 20 idle_in_transaction: 5 }')
PY
encode() { protoc --encode=odoo_retail_guard.Snapshot -Iproto proto/odoo_retail_guard.proto | od -An -v -tx1 | tr -d ' \n'; }
snap_hex=$(encode <"$ORG_TMP/snap.txt")
echo "stand-in snapshot: $((${#snap_hex} / 2)) bytes"

prepare_db() { # CLUSTER DB
	org_psql "$1" -d postgres -c "CREATE DATABASE $2" >/dev/null
	org_psql "$1" -d "$2" >/dev/null <<SQL
CREATE TABLE ir_model (id serial PRIMARY KEY, model varchar NOT NULL);
INSERT INTO ir_model (model) SELECT 'x.table.' || g FROM generate_series(0, 199) g;
INSERT INTO ir_model (model) VALUES ('stock.quant');
CREATE SCHEMA odoo_retail_guard;
CREATE TABLE odoo_retail_guard.fake_snapshot (data bytea);
INSERT INTO odoo_retail_guard.fake_snapshot VALUES ('\\x$snap_hex');
CREATE FUNCTION odoo_retail_guard.snapshot(since_cursor bigint DEFAULT 0) RETURNS bytea
LANGUAGE sql STABLE AS \$\$ SELECT data FROM odoo_retail_guard.fake_snapshot \$\$;
SQL
}

for c in b1 b2; do
	org_cluster_start "$c" "max_connections = 400
shared_buffers = 64MB"
	for d in $(seq 0 $((DBS_PER_CLUSTER - 1))); do prepare_db "$c" "odoo$d"; done
done

metric_sum() { # FILE NAME: sum of a metric family's samples
	awk -v n="$2" '$1 ~ "^"n"({|$)" {s+=$NF} END {printf "%.6f\n", s+0}' "$1"
}
metric_max() {
	awk -v n="$2" '$1 ~ "^"n"({|$)" {if ($NF>m) m=$NF} END {printf "%.6f\n", m+0}' "$1"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

write_conf() { # FILE NODES INTERVAL PORT [extra]
	local f=$1 n=$2 interval=$3 port=$4 i c
	{
		printf '[agent]\ninterval = %s\nnode_timeout = %s\nstatement_timeout = 3s\nspool_dir = %s/spool\nlisten = 127.0.0.1:%s\n' \
			"$interval" "$(python3 -c "print(min(5.0, $interval * 0.8))")" "$ORG_TMP" "$port"
		printf '%s\n' "${5:-}"
		for i in $(seq 0 $((n - 1))); do
			c=b$((i % 2 + 1))
			printf '[node n%d]\nconninfo = %s dbname=odoo%d\ncluster = %s\nstore = %04d\n' \
				"$i" "$(org_conn "$c")" $(((i / 2) % DBS_PER_CLUSTER)) "$c" "$i"
		done
	} >"$f"
}

echo
echo "== 1. resources per node count (stand-in snapshot of $((${#snap_hex} / 2)) bytes per poll) =="
printf '%-6s %-9s %-8s %-10s %-10s %-12s %-14s %-12s %-10s\n' nodes interval up "rss_MB" "peak_MB" "cpu_ms/poll" "cpu_ms/node" "max_poll_s" "series"
for n in $BENCH_NODES; do
	interval=2s
	[ "$n" -ge 200 ] && interval=10s
	port=$(org_free_port)
	write_conf "$ORG_TMP/scale.conf" "$n" "${interval%s}" "$port"
	agent_start scale "$ORG_TMP/scale.conf"
	pid=${AGENT_PIDS[scale]}
	url="http://127.0.0.1:$port/metrics"
	all_up() { curl -fsS --max-time 5 "$url" >"$ORG_TMP/m.txt" 2>/dev/null &&
		[ "$(metric_sum "$ORG_TMP/m.txt" orguard_node_snapshot_ok | cut -d. -f1)" -eq "$n" ]; }
	if ! org_wait_until 120 "$n nodes up" all_up; then
		echo "  ($n nodes: not all up within 120 s; figures below cover the ones that are)"
	fi
	# one full cycle after everything is connected, then measure BENCH_WINDOW cycles
	curl -fsS --max-time 5 "$url" >"$ORG_TMP/m0.txt"
	polls0=$(metric_sum "$ORG_TMP/m0.txt" orguard_node_polls_total)
	ticks0=$(cpu_ticks "$pid")
	target=$(python3 -c "print($polls0 + $n * $BENCH_WINDOW)")
	polls_done() { curl -fsS --max-time 5 "$url" >"$ORG_TMP/m1.txt" 2>/dev/null &&
		python3 -c "import sys; sys.exit(0 if $(metric_sum "$ORG_TMP/m1.txt" orguard_node_polls_total) >= $target else 1)"; }
	org_wait_until $((BENCH_WINDOW * ${interval%s} * 3 + 30)) "$BENCH_WINDOW cycles" polls_done
	ticks1=$(cpu_ticks "$pid")
	polls1=$(metric_sum "$ORG_TMP/m1.txt" orguard_node_polls_total)
	cycles=$(python3 -c "print(max(1e-9, ($polls1 - $polls0) / $n))")
	cpu_ms=$(python3 -c "print('%.1f' % (($ticks1 - $ticks0) * 1000.0 / $hz / $cycles))")
	per_node=$(python3 -c "print('%.3f' % ($cpu_ms / $n))")
	printf '%-6s %-9s %-8s %-10s %-10s %-12s %-14s %-12s %-10s\n' "$n" "$interval" \
		"$(metric_sum "$ORG_TMP/m1.txt" orguard_node_up | cut -d. -f1)" \
		"$(python3 -c "print('%.1f' % ($(rss_kb "$pid") / 1024))")" \
		"$(python3 -c "print('%.1f' % ($(hwm_kb "$pid") / 1024))")" "$cpu_ms" "$per_node" \
		"$(metric_max "$ORG_TMP/m1.txt" orguard_node_poll_duration_seconds)" \
		"$(grep -vc '^#' "$ORG_TMP/m1.txt")"
	agent_kill scale
done

echo
echo "== 2. lock wait in the snapshot -> alert at a webhook receiver (interval 1 s) =="
cat >"$ORG_TMP/recv.py" <<'PY'
import json, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
log = open(sys.argv[2], "a", buffering=1)
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        b = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        log.write("%.6f %s %s\n" % (time.time(), b["status"], b["rule"]))
        self.send_response(200); self.end_headers()
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
rport=$(org_free_port)
agent_bg recv python3 "$ORG_TMP/recv.py" "$rport" "$ORG_TMP/recv.log"
org_wait_until 30 "receiver" bash -c "(exec 3<>/dev/tcp/127.0.0.1/$rport) 2>/dev/null"
port=$(org_free_port)
write_conf "$ORG_TMP/lat.conf" 1 1 "$port" "[pager hook]
type = webhook
url = http://127.0.0.1:$rport/
[rule lock_wait]
threshold = 30s
clear = 30s
for = 0
flap_count = 0"
quiet_hex=$(printf 'schema_version: 1\nnext_cursor: 1\n' | encode)
lock_hex=$(printf 'schema_version: 1\nnext_cursor: 2\nblocking_chains { waiter_pid: 601 database: "odoo0" relation: "stock_quant" wait_ms: 31000 chain: 400 root_pid: 400 root_state: "idle in transaction" }\n' | encode)
set_fake() { org_psql b1 -d odoo0 -c "UPDATE odoo_retail_guard.fake_snapshot SET data = '\\x$1'" >/dev/null; }
set_fake "$quiet_hex"
agent_start lat "$ORG_TMP/lat.conf"
wait_for_http "http://127.0.0.1:$port/ready" 30
lat=()
for trial in $(seq 1 10); do
	n_fired=$(grep -c ' firing lock_wait' "$ORG_TMP/recv.log" 2>/dev/null)
	t0=$(date +%s.%N)
	set_fake "$lock_hex"
	fired() { [ "$(grep -c ' firing lock_wait' "$ORG_TMP/recv.log")" -gt "$n_fired" ]; }
	org_wait_until 15 "alert $trial" fired || continue
	t1=$(grep ' firing lock_wait' "$ORG_TMP/recv.log" | tail -1 | cut -d' ' -f1)
	lat+=("$(python3 -c "print('%.3f' % ($t1 - $t0))")")
	n_res=$(grep -c ' resolved lock_wait' "$ORG_TMP/recv.log")
	set_fake "$quiet_hex"
	resolved() { [ "$(grep -c ' resolved lock_wait' "$ORG_TMP/recv.log")" -gt "$n_res" ]; }
	org_wait_until 15 "resolve $trial" resolved
done
agent_kill lat
python3 - "${lat[@]}" <<'PY'
import statistics, sys
v = sorted(float(x) for x in sys.argv[1:])
if v:
    print("trials %d  min %.3fs  median %.3fs  max %.3fs  (target < 2 s at a 1 s interval)"
          % (len(v), v[0], statistics.median(v), v[-1]))
PY

echo
echo "== 3. beside prometheus-postgres-exporter (Debian $(dpkg-query -W -f='${Version}' prometheus-postgres-exporter 2>/dev/null)) on one database with 300 tables =="
org_psql b1 -d odoo0 >/dev/null <<'SQL'
DO $$ BEGIN
FOR i IN 1..300 LOOP
	EXECUTE format('CREATE TABLE t_%s (id serial PRIMARY KEY, v text)', i);
	EXECUTE format('CREATE INDEX ON t_%s (v)', i);
	EXECUTE format('INSERT INTO t_%s (v) SELECT md5(g::text) FROM generate_series(1, 50) g', i);
	EXECUTE format('DELETE FROM t_%s WHERE id %% 2 = 0', i);
END LOOP; END $$;
SQL
eport=$(org_free_port)
DATA_SOURCE_NAME="host=${ORG_SOCK[b1]} port=${ORG_PORT[b1]} user=postgres dbname=odoo0 sslmode=disable" \
	agent_bg exporter prometheus-postgres-exporter --web.listen-address="127.0.0.1:$eport"
wait_for_http "http://127.0.0.1:$eport/metrics" 30
port=$(org_free_port)
write_conf "$ORG_TMP/cmp.conf" 1 1 "$port"
agent_start cmp "$ORG_TMP/cmp.conf"
wait_for_http "http://127.0.0.1:$port/ready" 30
scrape_stats() { # URL: median scrape time over 10 scrapes, series
	local t=()
	for _ in $(seq 1 10); do
		t+=("$(curl -fsS --max-time 10 -o "$ORG_TMP/scrape.txt" -w '%{time_total}' "$1")")
	done
	python3 -c "import statistics,sys; print('%.1f ms' % (1000*statistics.median(float(x) for x in sys.argv[1:])))" "${t[@]}"
}
e_time=$(scrape_stats "http://127.0.0.1:$eport/metrics")
e_series=$(grep -vc '^#' "$ORG_TMP/scrape.txt")
a_time=$(scrape_stats "http://127.0.0.1:$port/metrics")
a_series=$(grep -vc '^#' "$ORG_TMP/scrape.txt")
a_poll=$(metric_max "$ORG_TMP/scrape.txt" orguard_node_poll_duration_seconds)
printf '%-28s %-14s %-8s %-8s %s\n' "" "scrape" "series" "RSS_MB" "work per scrape/poll"
printf '%-28s %-14s %-8s %-8s %s\n' "postgres_exporter" "$e_time" "$e_series" \
	"$(python3 -c "print('%.1f' % ($(rss_kb "${AGENT_PIDS[exporter]}") / 1024))")" "queries run inside the scrape"
printf '%-28s %-14s %-8s %-8s %s\n' "orguard-agent (1 node)" "$a_time" "$a_series" \
	"$(python3 -c "print('%.1f' % ($(rss_kb "${AGENT_PIDS[cmp]}") / 1024))")" "poll ${a_poll}s, off the scrape path"
agent_kill cmp
agent_kill exporter
agent_kill recv
