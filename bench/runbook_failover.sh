#!/usr/bin/env bash
# bench/runbook_failover.sh [RUNS]: failover figures of the native promotion
# runbook on loopback (prints, never fails on time).
#
# RUNS (default 10) runs with asynchronous replication, then RUNS with
# synchronous replication: a fresh primary + standby (pg_basebackup -R),
# the agent watching with the shipped probe defaults (3 probes 2 s apart,
# dead after 4 s), a writer committing one row at a time on the primary and
# noting the primary's flush LSN after each acknowledged commit, kill -9 of
# the primary and its processes.  Per run:
#
#   crash -> first write   from the kill to the first write the promoted
#                          standby accepts
#   data lost              the last acknowledged flush LSN of the primary
#                          minus the promoted standby's switch point (from
#                          its timeline history file), 0 when it has all;
#                          and the acknowledged rows missing on it
#
# plus the agent's own split (detection, fence + promote + verify).
set -uo pipefail

RUNS=${1:-10}
ORG_SRC_DIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../regress/lib/cluster.sh
. "$ORG_SRC_DIR/regress/lib/cluster.sh"
# shellcheck source=../regress/lib/runbook_nodes.sh
. "$ORG_SRC_DIR/regress/lib/runbook_nodes.sh"

org_harness_init
bench_cleanup() {
	local rc=$? pid
	for pid in $(jobs -p); do kill -KILL "$pid" 2>/dev/null; done
	(exit $rc)
	org_harness_cleanup
}
trap bench_cleanup EXIT
AGENT="$ORG_SRC_DIR/agent/orguard-agent"
[ -x "$AGENT" ] || make -s -C "$ORG_SRC_DIR" agent >/dev/null || org_die "cannot build the agent"
W=$(org_scratch_dir rb)

q() { PGCONNECT_TIMEOUT=5 PGOPTIONS='-c statement_timeout=20s' org_psql "$1" -d postgres -Atc "$2"; }
crash() {
	local pm
	pm=$(head -n 1 "${ORG_DATA[$1]}/postmaster.pid")
	kill -9 "$pm" $(ps -o pid= --ppid "$pm") 2>/dev/null
}
as_owner_bg() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=postgres --regid=postgres --init-groups -- "$@" &
	else
		"$@" &
	fi
}
streams_as() { [ "$(q "$1" "SELECT sync_state FROM pg_stat_replication WHERE application_name = '$2' AND state = 'streaming'")" = "$3" ]; }
acked_at_least() { [ "$(wc -l <"$1")" -ge "$2" ]; }
lsn_bytes() { # LSN -> bytes
	local hi=${1%/*} lo=${1#*/}
	echo $(((16#$hi << 32) + 16#$lo))
}
stats() { # stats LABEL < numbers: n, median, p95, min, max
	sort -n | awk -v l="$1" '{ v[NR] = $1 } END {
		if (NR == 0) { printf "%-34s no samples\n", l; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		i = int(0.95 * NR + 0.999); if (i < 1) i = 1; if (i > NR) i = NR
		printf "%-34s n=%d  median %.2f s  p95 %.2f s  min %.2f s  max %.2f s\n", l, NR, m, v[i], v[1], v[NR] }'
}
stats_bytes() { # stats_bytes LABEL < numbers
	sort -n | awk -v l="$1" '{ v[NR] = $1; t += $1 } END {
		if (NR == 0) { printf "%-34s no samples\n", l; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		i = int(0.95 * NR + 0.999); if (i < 1) i = 1; if (i > NR) i = NR
		printf "%-34s n=%d  median %d B  p95 %d B  max %d B  total %d B\n", l, NR, m, v[i], v[NR], t }'
}

# writer NODE ACKED: one row per commit; "id flush_lsn" after each acknowledgement
writer() {
	local i=1
	while out=$(PGCONNECT_TIMEOUT=5 org_psql "$1" -d postgres -At -c "INSERT INTO t VALUES ($i)" \
		-c "SELECT pg_current_wal_flush_lsn()" 2>/dev/null); do
		echo "$i $out" >>"$2"
		i=$((i + 1))
	done
}

# one run: MODE (async|sync) RUN; appends "mode total first decision action lost_bytes lost_rows"
one_run() {
	local mode=$1 run=$2 p="p$1$2" s="s$1$2" t0 t1 watcher wpid agent_line total first decision action
	local switch last lost rows_lost
	org_cluster_start "$p" "wal_keep_size = '64MB'"
	org_standby_create "$s" "$p"
	q "$p" "CREATE TABLE t (id int PRIMARY KEY)" >/dev/null
	if [ "$mode" = sync ]; then
		q "$p" "ALTER SYSTEM SET synchronous_standby_names = '$s'" >/dev/null
		q "$p" "SELECT pg_reload_conf()" >/dev/null
	fi
	org_wait_until 30 "standby streams" streams_as "$p" "$s" "$mode" || { echo "$mode run $run: standby not streaming"; return; }
	org_as_owner tee "$W/$p.conf" >/dev/null <<EOF
[agent]
spool_dir = $W/spool
[node $p]
conninfo = host=${ORG_SOCK[$p]} port=${ORG_PORT[$p]} user=postgres dbname=postgres
[node $s]
conninfo = host=${ORG_SOCK[$s]} port=${ORG_PORT[$s]} user=postgres dbname=postgres
[runbook promote]
primary = $p
standbys = $s
fence_command = none
journal = $W/journal
EOF
	as_owner_bg "$AGENT" -c "$W/$p.conf" runbook promote --watch >"$W/$p.out" 2>&1
	watcher=$!
	org_wait_until 10 "watcher" grep -q '^watching' "$W/$p.out"
	: >"$W/$p.acked"
	writer "$p" "$W/$p.acked" &
	wpid=$!
	org_wait_until 20 "writes acknowledged" acked_at_least "$W/$p.acked" 20
	t0=$(date +%s.%N)
	crash "$p"
	wait "$wpid" 2>/dev/null
	t1=""
	for _ in $(seq 1 600); do
		if q "$s" "SET synchronous_commit = local; INSERT INTO t VALUES (-1)" >/dev/null 2>&1; then
			t1=$(date +%s.%N)
			break
		fi
		sleep 0.05
	done
	# bounded: a watcher that has not finished 30 s after the crash is ended
	for _ in $(seq 1 300); do
		kill -0 "$watcher" 2>/dev/null || break
		sleep 0.1
	done
	kill -TERM "$watcher" 2>/dev/null
	wait "$watcher"
	agent_line=$(grep -o '[0-9.]* s from the first failed probe to writable (decision [0-9.]* s, action [0-9.]* s)' "$W/$p.out")
	if [ -z "$t1" ] || [ -z "$agent_line" ]; then
		echo "$mode run $run: no promotion within 30 s"
		sed 's/^/  /' "$W/$p.out"
	else
		total=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
		read -r first decision action <<<"$(sed 's/ s from.*decision / /; s/ s, action / /; s/ s)//' <<<"$agent_line")"
		# the switch point: where the promoted standby's history leaves timeline 1
		switch=$(org_as_owner cat "${ORG_DATA[$s]}/pg_wal/00000002.history" | awk '$1 == 1 { print $2 }')
		last=$(tail -n 1 "$W/$p.acked" | cut -d' ' -f2)
		lost=$(($(lsn_bytes "$last") - $(lsn_bytes "$switch")))
		[ "$lost" -lt 0 ] && lost=0
		rows_lost=$(q "$s" "SELECT count(*) FROM unnest(ARRAY[$(cut -d' ' -f1 "$W/$p.acked" | paste -sd,)]) a(id) WHERE NOT EXISTS (SELECT 1 FROM t WHERE t.id = a.id)")
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$total" "$first" "$decision" "$action" "$lost" "$rows_lost" >>"$W/failover.tsv"
		echo "$mode run $run: crash to first write ${total} s; $(wc -l <"$W/$p.acked") commits acknowledged, last at $last, switch point $switch: ${lost} bytes, ${rows_lost} rows lost; agent: $agent_line"
	fi
	org_cluster_stop "$s"
	org_cluster_stop "$p"
	rm -rf "$ORG_TMP/$p" "$ORG_TMP/$s"
}

: >"$W/failover.tsv"
for mode in async sync; do
	for run in $(seq 1 "$RUNS"); do
		one_run "$mode" "$run"
	done
done

col() { awk -F'\t' -v m="$1" -v c="$2" 'm == "" || $1 == m { print $c }' "$W/failover.tsv"; }
echo
echo "== native failover (primary + 1 standby, shipped probes 3 x 2 s, loopback) =="
col "" 2 | stats "crash -> first write"
col async 2 | stats "crash -> first write, async"
col sync 2 | stats "crash -> first write, sync"
col "" 3 | stats "agent: first failed probe -> writable"
col "" 4 | stats "agent: decision (dead rule)"
col "" 5 | stats "agent: fence + promote + verify"
col async 6 | stats_bytes "data lost, async"
col sync 6 | stats_bytes "data lost, sync"
echo "acknowledged rows lost: async $(col async 7 | awk '{ t += $1 } END { print t + 0 }'), sync $(col sync 7 | awk '{ t += $1 } END { print t + 0 }')"
